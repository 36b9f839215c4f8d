#include "pubsub_int.h"
