#include "veil/host/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "veil/wire/scoped_fd.h"

namespace veil::host {

struct HttpServer::State {
  HttpHandler* handler = nullptr;
  HttpServerOptions options;
  wire::ScopedFd listener;
  int port = 0;

  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};

  std::mutex mu;
  std::condition_variable work;     // pending gained a connection, or stopping
  std::condition_variable drained;  // in_flight dropped
  std::deque<int> pending;          // accepted, not yet served; guarded by mu
  int idle_workers = 0;             // guarded by mu
  std::set<int> active;             // connections being served; guarded by mu
  bool stopped = false;             // guarded by mu

  std::thread acceptor;
  std::vector<std::thread> workers;

  void AcceptLoop();
  void WorkerLoop();
  void Serve(int fd);
  void Record(const ExchangeRecord& record) const {
    if (options.on_exchange) options.on_exchange(record);
  }
  bool HasPending() {
    std::lock_guard<std::mutex> lock(mu);
    return !pending.empty();
  }
};

namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxChunkLine = 1024;
constexpr absl::Duration kPollSlice = absl::Milliseconds(100);

int PollMillis(absl::Time deadline, absl::Duration cap) {
  const absl::Duration left = std::min(deadline - absl::Now(), cap);
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left)));
}

bool IsTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool IsFieldValueChar(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

std::string_view MethodName(std::string_view method) {
  for (std::string_view m : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    if (method == m) return m;
  }
  return "other";
}

std::string ErrorBody(std::string_view code) {
  return absl::StrCat("{\"error\":\"", std::string(code), "\",\"request_id\":null}");
}

// WriteAll writes `data` within `deadline`.
absl::Status WriteAll(int fd, std::string_view data, absl::Time deadline) {
  size_t done = 0;
  while (done < data.size()) {
    pollfd p = {fd, POLLOUT, 0};
    const int millis = PollMillis(deadline, absl::Hours(1));
    if (millis == 0) return absl::DeadlineExceededError("http: write timed out");
    const int r = poll(&p, 1, millis);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return absl::UnavailableError("http: poll failed");
    if (r == 0) continue;
    const ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) return absl::UnavailableError("http: the client is gone");
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

std::string HttpDate(absl::Time t) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", t, absl::UTCTimeZone());
}

// Serialize returns the response head and (unless `head_only`) its body.
std::string Serialize(const HttpResponse& r, bool close, bool head_only) {
  std::string out = absl::StrCat("HTTP/1.1 ", r.status, " ", std::string(ReasonPhrase(r.status)), "\r\n",
                                 "Date: ", HttpDate(absl::Now()), "\r\n",
                                 "Content-Length: ", r.body.size(), "\r\n",
                                 "X-Content-Type-Options: nosniff\r\n");
  if (!r.content_type.empty()) absl::StrAppend(&out, "Content-Type: ", r.content_type, "\r\n");
  if (close) out += "Connection: close\r\n";
  for (const auto& [name, value] : r.headers) {
    // Defensive: a header with a line break would split the response.
    if (name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      continue;
    }
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  }
  out += "\r\n";
  if (!head_only) out += r.body;
  return out;
}

HttpResponse ServerError(int status, std::string_view outcome, int retry_after = 0) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = ErrorBody(outcome);
  r.outcome = std::string(outcome);
  if (retry_after > 0) r.headers.emplace_back("Retry-After", absl::StrCat(retry_after));
  return r;
}

// Connection holds the read buffer of one client connection.
class Connection {
 public:
  Connection(HttpServer::State& state, int fd) : state_(state), fd_(fd) {}

  int fd() const { return fd_; }
  uint64_t bytes_in() const { return bytes_in_; }
  // ResetCount starts counting the next request (its bytes already buffered
  // included).
  void ResetCount() { bytes_in_ = buffered(); }
  size_t buffered() const { return buf_.size() - pos_; }

  // WaitIdle waits until the next request's first byte is here. False when
  // the connection should close quietly: idle for keep_alive_timeout, closed
  // by the client, the server is stopping, or another connection is waiting
  // for this thread.
  bool WaitIdle() {
    if (buffered() > 0) return true;
    const absl::Time deadline = absl::Now() + state_.options.keep_alive_timeout;
    while (true) {
      if (state_.stopping.load()) return false;
      if (first_done_ && state_.HasPending()) return false;
      const int millis = PollMillis(deadline, kPollSlice);
      if (millis == 0) return false;
      pollfd p = {fd_, POLLIN, 0};
      const int r = poll(&p, 1, millis);
      if (r < 0 && errno != EINTR) return false;
      if (r > 0) return Fill(deadline).ok();
    }
  }
  void MarkFirstDone() { first_done_ = true; }

  // Fill reads what is available (waiting until `deadline`) into the buffer.
  absl::Status Fill(absl::Time deadline) {
    Compact();
    while (true) {
      pollfd p = {fd_, POLLIN, 0};
      const int millis = PollMillis(deadline, absl::Hours(1));
      if (millis == 0) return absl::DeadlineExceededError("http: read timed out");
      const int r = poll(&p, 1, millis);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return absl::UnavailableError("http: poll failed");
      if (r == 0) continue;
      const size_t old = buf_.size();
      buf_.resize(old + kReadChunk);
      const ssize_t n = recv(fd_, buf_.data() + old, kReadChunk, 0);
      buf_.resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (n == 0) return absl::DataLossError("http: the client closed the connection");
      if (n < 0) return absl::DataLossError("http: the connection failed");
      bytes_in_ += static_cast<uint64_t>(n);
      return absl::OkStatus();
    }
  }

  // ReadHead returns the bytes of the next request head (through the empty
  // line). Errors: DeadlineExceeded, DataLoss, ResourceExhausted (head over
  // max_head_bytes).
  absl::StatusOr<std::string> ReadHead(absl::Time deadline) {
    size_t scanned = 0;
    while (true) {
      // RFC 9112 section 2.2: ignore empty lines before the request line.
      while (buffered() >= 2 && buf_[pos_] == '\r' && buf_[pos_ + 1] == '\n') pos_ += 2;
      const std::string_view view(buf_.data() + pos_, buffered());
      const size_t end = view.find("\r\n\r\n", scanned > 3 ? scanned - 3 : 0);
      if (end != std::string_view::npos) {
        if (end + 4 > state_.options.max_head_bytes) {
          return absl::ResourceExhaustedError("http: head too large");
        }
        std::string head(view.substr(0, end + 4));
        pos_ += end + 4;
        return head;
      }
      scanned = view.size();
      if (view.size() > state_.options.max_head_bytes) {
        return absl::ResourceExhaustedError("http: head too large");
      }
      if (absl::Status s = Fill(deadline); !s.ok()) return s;
    }
  }

  // Take moves up to `n` buffered bytes to the end of `out`.
  size_t Take(size_t n, std::string* out) {
    const size_t k = std::min(n, buffered());
    out->append(buf_.data() + pos_, k);
    pos_ += k;
    return k;
  }

  // ReadLine returns one CRLF-terminated line (without the CRLF), at most
  // `max` bytes long.
  absl::StatusOr<std::string> ReadLine(size_t max, absl::Time deadline) {
    while (true) {
      const std::string_view view(buf_.data() + pos_, buffered());
      const size_t end = view.find("\r\n");
      if (end != std::string_view::npos) {
        if (end > max) return absl::InvalidArgumentError("http: line too long");
        std::string line(view.substr(0, end));
        pos_ += end + 2;
        return line;
      }
      if (view.size() > max + 1) return absl::InvalidArgumentError("http: line too long");
      if (absl::Status s = Fill(deadline); !s.ok()) return s;
    }
  }

  // ReadExact moves exactly `n` bytes to the end of `out`.
  absl::Status ReadExact(size_t n, std::string* out, absl::Time deadline) {
    size_t got = Take(n, out);
    while (got < n) {
      if (absl::Status s = Fill(deadline); !s.ok()) return s;
      got += Take(n - got, out);
    }
    return absl::OkStatus();
  }

 private:
  void Compact() {
    if (pos_ > 0 && (pos_ == buf_.size() || pos_ > kReadChunk)) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
  }

  HttpServer::State& state_;
  const int fd_;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t bytes_in_ = 0;
  bool first_done_ = false;
};

// ParseHead parses `head` (ending in CRLF CRLF) into `out`. On failure it
// returns the status code to answer with and sets `outcome`.
int ParseHead(std::string_view head, size_t max_headers, HttpRequest* out, std::string* outcome) {
  *outcome = "bad_request";
  size_t line_end = head.find("\r\n");
  const std::string_view request_line = head.substr(0, line_end);
  // request-line = method SP request-target SP HTTP-version
  const size_t sp1 = request_line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      request_line.find(' ', sp2 + 1) != std::string_view::npos) {
    return 400;
  }
  const std::string_view method = request_line.substr(0, sp1);
  const std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = request_line.substr(sp2 + 1);
  if (method.empty() || !std::all_of(method.begin(), method.end(), IsTokenChar)) return 400;
  if (target.empty() || target[0] != '/') return 400;
  for (char c : target) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return 400;
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !absl::ascii_isdigit(static_cast<unsigned char>(version[5])) ||
      !absl::ascii_isdigit(static_cast<unsigned char>(version[7]))) {
    return 400;
  }
  if (version[5] != '1') {
    *outcome = "version_not_supported";
    return 505;
  }
  out->method = std::string(method);
  out->target = std::string(target);
  const size_t q = target.find('?');
  out->path = std::string(target.substr(0, q));
  out->query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  out->minor_version = version[7] - '0';

  size_t pos = line_end + 2;
  while (pos < head.size()) {
    line_end = head.find("\r\n", pos);
    const std::string_view line = head.substr(pos, line_end - pos);
    pos = line_end + 2;
    if (line.empty()) break;  // the end of the head
    if (out->headers.size() >= max_headers) {
      *outcome = "header_too_large";
      return 431;
    }
    // No obs-fold (a line starting with whitespace), no bare CR or LF, no
    // whitespace between the name and the colon.
    const size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return 400;
    const std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), IsTokenChar)) return 400;
    std::string_view value = line.substr(colon + 1);
    if (!std::all_of(value.begin(), value.end(), IsFieldValueChar)) return 400;
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    out->headers.emplace_back(absl::AsciiStrToLower(std::string(name)), std::string(value));
  }

  // Body framing (RFC 9112 section 6): Transfer-Encoding and Content-Length
  // together are refused (request smuggling), as are codings other than
  // chunked and repeated or non-numeric lengths.
  bool te_repeated = false;
  bool cl_repeated = false;
  const std::string* te = out->Header("transfer-encoding", &te_repeated);
  const std::string* cl = out->Header("content-length", &cl_repeated);
  if (te != nullptr) {
    if (cl != nullptr || te_repeated || out->minor_version == 0) return 400;
    if (!absl::EqualsIgnoreCase(*te, "chunked")) {
      *outcome = "not_implemented";
      return 501;
    }
    out->chunked = true;
  } else if (cl != nullptr) {
    if (cl_repeated || cl->empty() || cl->size() > 15 ||
        !std::all_of(cl->begin(), cl->end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); })) {
      return 400;
    }
    uint64_t n = 0;
    for (char c : *cl) n = n * 10 + static_cast<uint64_t>(c - '0');
    out->content_length = n;
  }
  *outcome = "ok";
  return 0;
}

class ConnectionBodyReader : public BodyReader {
 public:
  ConnectionBodyReader(Connection& connection, const HttpRequest& request, absl::Time deadline,
                       absl::Duration write_timeout)
      : c_(connection), request_(request), deadline_(deadline), write_timeout_(write_timeout) {
    // A request without a body is complete as it is.
    complete_ = !request.chunked && request.content_length.value_or(0) == 0;
  }

  bool complete() const { return complete_; }

  absl::StatusOr<std::string> ReadAll(size_t max_bytes) override {
    if (called_) return absl::FailedPreconditionError("http: body already read");
    called_ = true;
    std::string body;
    if (complete_) return body;
    if (request_.content_length.has_value() && *request_.content_length > max_bytes) {
      return absl::OutOfRangeError("http: body too large");
    }
    if (absl::Status s = MaybeContinue(); !s.ok()) return s;
    if (request_.content_length.has_value()) {
      if (absl::Status s = c_.ReadExact(*request_.content_length, &body, deadline_); !s.ok()) {
        return s;
      }
      complete_ = true;
      return body;
    }
    // Chunked (RFC 9112 section 7.1).
    while (true) {
      auto line = c_.ReadLine(kMaxChunkLine, deadline_);
      if (!line.ok()) return line.status();
      std::string_view size_text(*line);
      size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions are ignored
      while (!size_text.empty() && (size_text.back() == ' ' || size_text.back() == '\t')) {
        size_text.remove_suffix(1);
      }
      if (size_text.empty() || size_text.size() > 15) {
        return absl::InvalidArgumentError("http: bad chunk size");
      }
      uint64_t size = 0;
      for (char ch : size_text) {
        const int digit = absl::ascii_isdigit(static_cast<unsigned char>(ch)) ? ch - '0'
                          : (ch >= 'a' && ch <= 'f')                         ? ch - 'a' + 10
                          : (ch >= 'A' && ch <= 'F')                         ? ch - 'A' + 10
                                                                             : -1;
        if (digit < 0) return absl::InvalidArgumentError("http: bad chunk size");
        size = size * 16 + static_cast<uint64_t>(digit);
      }
      if (size == 0) break;
      if (size > max_bytes - body.size()) return absl::OutOfRangeError("http: body too large");
      if (absl::Status s = c_.ReadExact(size, &body, deadline_); !s.ok()) return s;
      auto crlf = c_.ReadLine(0, deadline_);
      if (!crlf.ok()) return crlf.status();
    }
    // Trailer fields are read and dropped, bounded like a head.
    size_t trailer_bytes = 0;
    while (true) {
      auto line = c_.ReadLine(kMaxChunkLine, deadline_);
      if (!line.ok()) return line.status();
      if (line->empty()) break;
      trailer_bytes += line->size();
      if (trailer_bytes > 16 * 1024) return absl::InvalidArgumentError("http: trailer too large");
    }
    complete_ = true;
    return body;
  }

 private:
  // MaybeContinue answers `Expect: 100-continue` once the handler has
  // decided to read the body.
  absl::Status MaybeContinue() {
    const std::string* expect = request_.Header("expect");
    if (expect == nullptr || request_.minor_version == 0 ||
        !absl::EqualsIgnoreCase(*expect, "100-continue") || c_.buffered() > 0) {
      return absl::OkStatus();
    }
    absl::Status s = WriteAll(c_.fd(), "HTTP/1.1 100 Continue\r\n\r\n",
                              absl::Now() + write_timeout_);
    if (!s.ok()) return absl::DataLossError("http: the client is gone");
    return absl::OkStatus();
  }

  Connection& c_;
  const HttpRequest& request_;
  const absl::Time deadline_;
  const absl::Duration write_timeout_;
  bool called_ = false;
  bool complete_ = false;
};

}  // namespace

const std::string* HttpRequest::Header(std::string_view lower_name, bool* repeated) const {
  const std::string* found = nullptr;
  if (repeated != nullptr) *repeated = false;
  for (const auto& [name, value] : headers) {
    if (name != lower_name) continue;
    if (found != nullptr) {
      if (repeated != nullptr) *repeated = true;
      continue;
    }
    found = &value;
  }
  return found;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

void HttpServer::State::AcceptLoop() {
  while (!stopping.load()) {
    pollfd p = {listener.get(), POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(kPollSlice)));
    if (r <= 0) continue;
    const int fd = accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    bool queued = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!stopping.load() &&
          pending.size() < static_cast<size_t>(idle_workers + options.queue)) {
        pending.push_back(fd);
        queued = true;
      }
    }
    if (queued) {
      work.notify_one();
      continue;
    }
    // Overloaded: answer at once without waiting for the request, and close.
    const absl::Time start = absl::Now();
    const HttpResponse response =
        ServerError(503, "overloaded", options.retry_after_seconds);
    const std::string bytes = Serialize(response, /*close=*/true, /*head_only=*/false);
    const bool sent = WriteAll(fd, bytes, absl::Now() + absl::Milliseconds(200)).ok();
    shutdown(fd, SHUT_WR);
    close(fd);
    Record({.route = "other", .outcome = "overloaded", .request_id = "", .method = "other",
            .status = 503, .bytes_in = 0, .bytes_out = sent ? bytes.size() : 0,
            .duration = absl::Now() - start});
  }
}

void HttpServer::State::WorkerLoop() {
  while (true) {
    int fd = -1;
    {
      std::unique_lock<std::mutex> lock(mu);
      ++idle_workers;
      work.wait(lock, [this] { return stopping.load() || !pending.empty(); });
      --idle_workers;
      if (stopping.load()) return;  // Stop closes what is still pending
      fd = pending.front();
      pending.pop_front();
      active.insert(fd);
    }
    Serve(fd);
    {
      std::lock_guard<std::mutex> lock(mu);
      active.erase(fd);
    }
    close(fd);
  }
}

void HttpServer::State::Serve(int fd) {
  Connection c(*this, fd);
  while (c.WaitIdle()) {
    c.MarkFirstDone();
    const absl::Time start = absl::Now();
    const absl::Time deadline = start + options.read_timeout;
    in_flight.fetch_add(1);
    HttpRequest request;
    HttpResponse response;
    bool keep_alive = false;
    bool head_only = false;
    auto head = c.ReadHead(deadline);
    if (!head.ok()) {
      if (absl::IsResourceExhausted(head.status())) {
        response = ServerError(431, "header_too_large");
      } else if (absl::IsDeadlineExceeded(head.status())) {
        response = ServerError(408, "timeout");
      } else {
        response.status = 0;  // the client is gone: nothing to answer
      }
    } else {
      std::string outcome;
      const int error = ParseHead(*head, options.max_headers, &request, &outcome);
      if (error != 0) {
        response = ServerError(error, outcome);
      } else {
        ConnectionBodyReader body(c, request, deadline, options.write_timeout);
        response = handler->Handle(request, body);
        head_only = request.method == "HEAD";
        const std::string* connection = request.Header("connection");
        const bool client_close =
            request.minor_version == 0 ||
            (connection != nullptr && absl::EqualsIgnoreCase(*connection, "close"));
        keep_alive = body.complete() && !client_close;
      }
    }
    keep_alive = keep_alive && !stopping.load() && !HasPending();
    uint64_t bytes_out = 0;
    if (response.status != 0) {
      const std::string bytes = Serialize(response, !keep_alive, head_only);
      if (!WriteAll(fd, bytes, absl::Now() + options.write_timeout).ok()) {
        keep_alive = false;
      } else {
        bytes_out = bytes.size();
      }
      Record({.route = response.route, .outcome = response.outcome,
              .request_id = response.request_id, .method = std::string(MethodName(request.method)),
              .status = response.status, .bytes_in = c.bytes_in() - c.buffered(),
              .bytes_out = bytes_out, .duration = absl::Now() - start});
    }
    c.ResetCount();
    {
      std::lock_guard<std::mutex> lock(mu);
      in_flight.fetch_sub(1);
    }
    drained.notify_all();
    if (!keep_alive) break;
  }
  // Send what was written, then close: a FIN rather than a reset when the
  // client still has unread request bytes in flight.
  shutdown(fd, SHUT_WR);
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpHandler* handler,
                                                              HttpServerOptions options) {
  if (handler == nullptr || options.threads < 1 || options.queue < 0 || options.port < 0 ||
      options.port > 65535 || options.read_timeout <= absl::ZeroDuration() ||
      options.write_timeout <= absl::ZeroDuration() ||
      options.keep_alive_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("http: bad server options");
  }
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  int family = AF_INET;
  {
    sockaddr_in v4{};
    sockaddr_in6 v6{};
    if (inet_pton(AF_INET, options.address.c_str(), &v4.sin_addr) == 1) {
      v4.sin_family = AF_INET;
      v4.sin_port = htons(static_cast<uint16_t>(options.port));
      std::memcpy(&addr, &v4, sizeof(v4));
      addr_len = sizeof(v4);
    } else if (inet_pton(AF_INET6, options.address.c_str(), &v6.sin6_addr) == 1) {
      family = AF_INET6;
      v6.sin6_family = AF_INET6;
      v6.sin6_port = htons(static_cast<uint16_t>(options.port));
      std::memcpy(&addr, &v6, sizeof(v6));
      addr_len = sizeof(v6);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("http: listen address \"", options.address,
                       "\" is not a numeric IPv4 or IPv6 address"));
    }
  }
  wire::ScopedFd listener(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener.valid()) return absl::UnavailableError("http: cannot create a socket");
  const int one = 1;
  setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(listener.get(), reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0 ||
      listen(listener.get(), 128) != 0) {
    return absl::UnavailableError(absl::StrCat("http: cannot listen on ", options.address, ":",
                                               options.port, ": ", std::strerror(errno)));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  getsockname(listener.get(), reinterpret_cast<sockaddr*>(&bound), &bound_len);
  const int port = family == AF_INET
                       ? ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port)
                       : ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port);

  auto state = std::make_shared<State>();
  state->handler = handler;
  state->options = std::move(options);
  state->listener = std::move(listener);
  state->port = port;
  State* raw = state.get();
  for (int i = 0; i < raw->options.threads; ++i) {
    raw->workers.emplace_back([raw] { raw->WorkerLoop(); });
  }
  raw->acceptor = std::thread([raw] { raw->AcceptLoop(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
}

HttpServer::~HttpServer() { Stop(absl::ZeroDuration()); }

int HttpServer::port() const { return state_->port; }
int HttpServer::in_flight() const { return state_->in_flight.load(); }

void HttpServer::Stop(absl::Duration grace) {
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.stopped) return;
    s.stopped = true;
    s.stopping.store(true);
  }
  s.work.notify_all();
  if (s.acceptor.joinable()) s.acceptor.join();
  s.listener.reset();
  {
    std::unique_lock<std::mutex> lock(s.mu);
    for (int fd : s.pending) close(fd);
    s.pending.clear();
    // Requests in progress get `grace` to finish; idle keep-alive
    // connections notice `stopping` within one poll slice and close.
    s.drained.wait_for(lock, absl::ToChronoNanoseconds(grace),
                       [&s] { return s.in_flight.load() == 0; });
    for (int fd : s.active) shutdown(fd, SHUT_RDWR);
  }
  for (std::thread& t : s.workers) {
    if (t.joinable()) t.join();
  }
}

}  // namespace veil::host
