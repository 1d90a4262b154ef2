// mcguard's own version, and the memcached release whose text protocol it speaks.
// `version` and `stats` answer the protocol version alone, exactly as memcached
// shapes it ("1.6.18"): clients parse it as a number (Perl's version->parse dies on
// anything else). mcguard's own version is in --version, the start-up log, /metrics
// and `stats` (mcguard_version).
#pragma once

#define MCGUARD_VERSION "0.1.0"
#define MCGUARD_PROTOCOL_VERSION "1.6.18"
