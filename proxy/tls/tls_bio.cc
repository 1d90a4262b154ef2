#include "proxy/tls/tls_bio.h"

#include "proxy/tls/tls_stream.h"

namespace mcguard::tls {
namespace {

TlsStream* stream_of(BIO* bio) { return static_cast<TlsStream*>(BIO_get_data(bio)); }

int read_callback(BIO* bio, char* out, size_t n, size_t* read) {
  BIO_clear_retry_flags(bio);
  const int capped = n > 1 << 30 ? 1 << 30 : static_cast<int>(n);
  const int taken = stream_of(bio)->bio_read(out, capped);
  if (taken <= 0) {
    BIO_set_retry_read(bio);
    *read = 0;
    return 0;
  }
  *read = static_cast<size_t>(taken);
  return 1;
}

int write_callback(BIO* bio, const char* in, size_t n, size_t* written) {
  BIO_clear_retry_flags(bio);
  const int capped = n > 1 << 30 ? 1 << 30 : static_cast<int>(n);
  const int taken = stream_of(bio)->bio_write(in, capped);
  if (taken <= 0) {
    BIO_set_retry_write(bio);
    *written = 0;
    return 0;
  }
  *written = static_cast<size_t>(taken);
  return 1;
}

long control_callback(BIO*, int command, long, void*) {
  // OpenSSL flushes after each flight; the bytes are already queued for the engine to send.
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

int create_callback(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD* make_method() {
  BIO_METHOD* method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mcguard-pool");
  if (method == nullptr) return nullptr;
  BIO_meth_set_read_ex(method, read_callback);
  BIO_meth_set_write_ex(method, write_callback);
  BIO_meth_set_ctrl(method, control_callback);
  BIO_meth_set_create(method, create_callback);
  return method;
}

}  // namespace

BIO* make_stream_bio(TlsStream* stream) {
  // Created once and kept for the life of the process: sessions on every worker share it.
  static BIO_METHOD* const method = make_method();
  if (method == nullptr) return nullptr;
  BIO* bio = BIO_new(method);
  if (bio != nullptr) BIO_set_data(bio, stream);
  return bio;
}

}  // namespace mcguard::tls
