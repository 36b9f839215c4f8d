/* SPDX-License-Identifier: MIT */
// fn leaving by a C++ exception: sharedflight is C built with unwind
// tables and cleanup handlers, so the flight is still published (waiters
// get GOIO_ECANCELED) and the exception reaches the first caller intact.
#include <goio/sharedflight.h>

#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,        \
                         __LINE__, #cond);                                     \
            return 1;                                                          \
        }                                                                      \
    } while (0)

struct state {
    goio_sharedflight *g;
    std::atomic<bool> in_fn{false};
};

static int throwing_fn(goio_ctx *, void **, void *arg)
{
    state *s = static_cast<state *>(arg);
    s->in_fn = true;
    size_t n = 0;
    // Wait (with a deadline) for the second caller to join.
    int64_t end = goio_now_mono_ms() + 20000;
    while (goio_now_mono_ms() < end &&
           (goio_sharedflight_callers(s->g, "k", &n) || n < 2))
        std::this_thread::yield();
    throw std::runtime_error("fetch exploded");
}

int main()
{
    goio_log_set_sink(nullptr, nullptr); // the flight_abandoned record
    state s;
    CHECK(goio_sharedflight_new(NULL, &s.g) == 0);
    bool caught = false;
    std::thread leader([&] {
        goio_sharedflight_result *r = nullptr;
        try {
            goio_sharedflight_do(s.g, nullptr, "k", throwing_fn, &s, nullptr, &r, nullptr);
        } catch (const std::runtime_error &e) {
            caught = std::string(e.what()) == "fetch exploded";
        }
    });
    int64_t end = goio_now_mono_ms() + 20000;
    while (!s.in_fn && goio_now_mono_ms() < end)
        std::this_thread::yield();
    goio_sharedflight_result *r = nullptr;
    int rc = goio_sharedflight_do(s.g, nullptr, "k", throwing_fn, &s, nullptr, &r, nullptr);
    leader.join();
    CHECK(rc == GOIO_ECANCELED);
    CHECK(r != nullptr);
    goio_sharedflight_result_unref(r);
    CHECK(caught);
    CHECK(goio_sharedflight_inflight(s.g) == 0);
    goio_sharedflight_free(s.g);
    std::puts("ok");
    return 0;
}
