// HttpServer: the small HTTP/1.1 server in front of veil-host's routes.
//
// Why not cpp-httplib: Debian ships cpp-httplib as a shared library built
// with CPPHTTPLIB_OPENSSL_SUPPORT, so linking it puts libssl and libcrypto
// into the process, and veil-host must not be able to decrypt anything
// (docs/host.md). This server speaks plain HTTP/1.1 on TCP (a TLS-terminating
// load balancer sits in front in production; the payload is an ESDK
// ciphertext anyway) and does only what the host needs:
//
//  - a fixed pool of `threads`, each serving one connection at a time
//    (keep-alive), with at most `queue` accepted connections waiting; a
//    connection beyond that is answered 503 + Retry-After at once;
//  - strict parsing of the request head (RFC 9112): CRLF line ends, no
//    obs-fold, token header names, one Content-Length or
//    `Transfer-Encoding: chunked` (never both), bounded head size and
//    header count;
//  - the body is read only when the handler asks for it, with a size limit
//    checked from Content-Length before any byte is read and while reading
//    (chunked), answering `Expect: 100-continue` only then; a handler that
//    refuses a request early (401, 413, 429) never reads the body;
//  - one deadline for reading each request (head and body) and one for
//    writing each response, so a slow client holds a thread for a bounded
//    time;
//  - Stop: stop accepting, let requests in progress finish within a grace
//    period, close idle connections, then close the rest.
#ifndef VEIL_HOST_HTTP_SERVER_H_
#define VEIL_HOST_HTTP_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace veil::host {

// HttpRequest is a parsed request head.
struct HttpRequest {
  std::string method;  // e.g. "GET", "POST", "HEAD"
  std::string target;  // as received, e.g. "/v1/attestation?nonce=00"
  std::string path;    // the target up to '?', not percent-decoded
  std::string query;   // the target after '?', empty when none
  int minor_version = 1;  // HTTP/1.<minor_version>
  // Headers in arrival order, names lower-cased, values with surrounding
  // spaces and tabs removed.
  std::vector<std::pair<std::string, std::string>> headers;
  // Body framing: exactly one of these, or neither for a request without a
  // body.
  std::optional<uint64_t> content_length;
  bool chunked = false;

  // Header returns the value of header `lower_name`, or nullptr when it is
  // absent. When it occurs more than once, `*repeated` (if given) is set.
  const std::string* Header(std::string_view lower_name, bool* repeated = nullptr) const;
};

// HttpResponse is what a handler answers. The server adds Content-Length,
// Date, `X-Content-Type-Options: nosniff` and Connection.
struct HttpResponse {
  int status = 200;
  std::string content_type;  // no Content-Type header when empty
  std::vector<std::pair<std::string, std::string>> headers;  // no CR or LF in them
  std::string body;

  // Metadata for the access log and metrics; never sent. `route` is one of
  // a fixed set of names (never the raw path), `outcome` a short code
  // ("ok", "unauthenticated", ...), `request_id` the client's opaque id
  // when the route has one.
  std::string route = "other";
  std::string outcome = "ok";
  std::string request_id;
};

// BodyReader gives a handler the request body. Not thread-safe; valid only
// during Handle.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // ReadAll returns the whole body (empty for a request without one). It may
  // be called once. Fails with OutOfRange when the body is larger than
  // `max_bytes` (for Content-Length before any byte is read), with
  // DeadlineExceeded when the client is too slow, with InvalidArgument for
  // malformed chunked framing, and with DataLoss when the client closes or
  // resets the connection first.
  virtual absl::StatusOr<std::string> ReadAll(size_t max_bytes) = 0;
};

// HttpHandler answers requests. Handle is called concurrently from the
// server's threads and must be thread-safe. A handler that does not read
// the body (or fails to) makes the server close the connection after the
// response.
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual HttpResponse Handle(const HttpRequest& request, BodyReader& body) = 0;
};

// ExchangeRecord is the metadata of one answered request, for logs and
// metrics: never a header value or a byte of a body.
struct ExchangeRecord {
  std::string route;
  std::string outcome;
  std::string request_id;
  std::string method;  // only the standard methods; anything else is "other"
  int status = 0;
  uint64_t bytes_in = 0;   // head and body bytes read from the client
  uint64_t bytes_out = 0;  // head and body bytes written
  absl::Duration duration;
};

struct HttpServerOptions {
  // address is a numeric IPv4 or IPv6 address (no DNS); port 0 picks a free
  // port (see HttpServer::port).
  std::string address = "127.0.0.1";
  int port = 0;
  int threads = 16;
  int queue = 64;
  // read_timeout bounds reading one request, head and body, from its first
  // byte; write_timeout bounds writing one response.
  absl::Duration read_timeout = absl::Seconds(30);
  absl::Duration write_timeout = absl::Seconds(30);
  // keep_alive_timeout closes a connection that does not start its next
  // request (or its first) within it.
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  size_t max_head_bytes = 16 * 1024;
  size_t max_headers = 64;
  int retry_after_seconds = 1;  // on the server's own 503
  // on_exchange, if set, is called after every response is written (or its
  // write failed), on the serving thread, including the server's own
  // answers (400 for a malformed head, 408, 431, 503). Thread-safe, quick.
  std::function<void(const ExchangeRecord&)> on_exchange;
};

// HttpServer serves one HttpHandler. Thread-safe: Stop, port and in_flight
// may be called from any thread.
class HttpServer {
 public:
  // Start binds `options.address:options.port`, listens and starts the
  // threads. `handler` must outlive the server. Fails with InvalidArgument
  // for an address that is not numeric or bad options, Unavailable when the
  // port cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(HttpHandler* handler,
                                                           HttpServerOptions options);
  ~HttpServer();  // Stop(ZeroDuration())
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  // in_flight is the number of requests being handled right now.
  int in_flight() const;

  // Stop stops accepting at once, closes idle and waiting connections, gives
  // requests in progress up to `grace` to finish (their responses carry
  // `Connection: close`), then shuts the remaining sockets down and joins
  // every thread (a handler still running finishes on its own). Idempotent.
  void Stop(absl::Duration grace);

  struct State;

 private:
  explicit HttpServer(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

// ReasonPhrase returns the standard reason phrase of `status`.
std::string_view ReasonPhrase(int status);

}  // namespace veil::host

#endif  // VEIL_HOST_HTTP_SERVER_H_
