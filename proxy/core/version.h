// mcguard's version, and the version it reports to clients: the memcached
// protocol level it reproduces, then its own, so clients that parse
// "major.minor.patch" to pick features see memcached 1.6 semantics.
#pragma once

#define MCGUARD_VERSION "0.1.0"
#define MCGUARD_PROTOCOL_VERSION "1.6.18-mcguard-" MCGUARD_VERSION
