// HttpServer: serves a RequestHandler over HTTP/1.1 (or HTTPS) with
// cpp-httplib: keep-alive connections on a fixed thread pool, a body size
// limit, and read/write timeouts. This is the only file that sees httplib.
#ifndef VEIL_KMS_SERVER_HTTP_SERVER_H_
#define VEIL_KMS_SERVER_HTTP_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "veil/kms_server/request_handler.h"

namespace veil::kms_server {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port (see HttpServer::port)
  // tls_cert and tls_key (PEM files) switch to HTTPS when both are set.
  std::string tls_cert;
  std::string tls_key;
  // threads serve connections; a keep-alive connection holds a thread while
  // it is open, so this bounds concurrent clients.
  int threads = 64;
};

// HttpServer owns the listening socket. Thread-safe: Stop may be called from
// any thread (e.g. a signal-watching one) while Run blocks.
class HttpServer {
 public:
  // Bind creates the server and binds the port (so `port()` is known before
  // Run). Unavailable when the address cannot be bound, InvalidArgument for
  // unreadable TLS files.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Bind(const RequestHandler* handler,
                                                          const HttpServerOptions& options);
  ~HttpServer();

  int port() const;
  // Run serves until Stop; returns an error only if serving could not start.
  absl::Status Run();
  void Stop();

  struct State;

 private:
  explicit HttpServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace veil::kms_server

#endif  // VEIL_KMS_SERVER_HTTP_SERVER_H_
