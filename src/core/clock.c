/* SPDX-License-Identifier: MIT */
#include <goio/core.h>

#include <time.h>

static int64_t read_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t goio_now_mono_ns(void)
{
    return read_ns(CLOCK_MONOTONIC);
}
int64_t goio_now_mono_ms(void)
{
    return read_ns(CLOCK_MONOTONIC) / 1000000;
}
int64_t goio_now_wall_ns(void)
{
    return read_ns(CLOCK_REALTIME);
}
int64_t goio_now_wall_ms(void)
{
    return read_ns(CLOCK_REALTIME) / 1000000;
}

int64_t goio_now_mono_coarse_ms(void)
{
    return read_ns(CLOCK_MONOTONIC_COARSE) / 1000000;
}

int64_t goio_time_add_ms(int64_t at_ms, int64_t ms)
{
    if (ms > 0 && at_ms > INT64_MAX - ms)
        return INT64_MAX;
    if (ms < 0 && at_ms < INT64_MIN - ms)
        return INT64_MIN;
    return at_ms + ms;
}
