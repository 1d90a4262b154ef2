// The BIO that connects an SSL object to a TlsStream's pool buffers: reads take ciphertext from
// the stream's wire-in buffer and writes append ciphertext to its wire-out buffer, with OpenSSL's
// retry flags set when there is nothing to read or no room to write. One method table serves the
// whole process (created once, thread-safe).
#pragma once

#include <openssl/bio.h>

namespace mcguard::tls {

class TlsStream;

// A new BIO bound to `stream` (which outlives it), or null when OpenSSL cannot allocate one.
BIO* make_stream_bio(TlsStream* stream);

}  // namespace mcguard::tls
