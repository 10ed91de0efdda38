#include "veil/kms_server/http_server.h"

#include <httplib.h>

#include <exception>

#include "absl/strings/str_cat.h"

namespace veil::kms_server {

struct HttpServer::State {
  std::unique_ptr<httplib::Server> server;
  const RequestHandler* handler = nullptr;
  int port = 0;
  bool tls = false;
};

namespace {

HttpRequest Convert(const httplib::Request& in, bool tls) {
  HttpRequest out;
  out.method = in.method;
  // `target` is the request target as received (not percent-decoded);
  // SigV4 canonicalizes from it.
  const std::string& target = in.target.empty() ? in.path : in.target;
  const size_t q = target.find('?');
  out.path = target.substr(0, q);
  if (q != std::string::npos) out.query = target.substr(q + 1);
  for (const auto& [k, v] : in.headers) {
    // httplib adds these for its own bookkeeping; they were not on the wire.
    if (k == "REMOTE_ADDR" || k == "REMOTE_PORT" || k == "LOCAL_ADDR" || k == "LOCAL_PORT") {
      continue;
    }
    out.headers.emplace_back(k, v);
  }
  out.body = in.body;
  out.remote_addr = in.remote_addr;
  out.secure_transport = tls;
  return out;
}

}  // namespace

HttpServer::HttpServer(std::unique_ptr<State> state) : state_(std::move(state)) {}
HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Bind(const RequestHandler* handler,
                                                             const HttpServerOptions& options) {
  auto state = std::make_unique<State>();
  state->handler = handler;
  if (!options.tls_cert.empty() || !options.tls_key.empty()) {
    if (options.tls_cert.empty() || options.tls_key.empty()) {
      return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
    }
    auto ssl = std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(),
                                                    options.tls_key.c_str());
    if (!ssl->is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat("cannot load TLS certificate ",
                                                     options.tls_cert, " and key ",
                                                     options.tls_key));
    }
    state->server = std::move(ssl);
    state->tls = true;
  } else {
    state->server = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *state->server;
  const int threads = options.threads > 0 ? options.threads : 64;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_keep_alive_max_count(100000);
  s.set_keep_alive_timeout(60);
  s.set_read_timeout(30, 0);
  s.set_write_timeout(30, 0);
  s.set_payload_max_length(kMaxRequestBody + 1);
  s.set_tcp_nodelay(true);

  State* raw = state.get();
  // One handler for every method and path, so routing, errors and CORS live
  // in RequestHandler alone. (httplib reads a request body only for routed
  // POST/PUT/PATCH handlers, not in its pre-routing hook.)
  const httplib::Server::Handler handle = [raw](const httplib::Request& req,
                                                httplib::Response& res) {
    HttpResponse out;
    try {
      out = raw->handler->Handle(Convert(req, raw->tls));
    } catch (const std::exception&) {
      // The handler does not throw; this keeps a bug from killing a worker.
      out.status = 500;
      out.body = R"({"__type":"KMSInternalException"})";
    }
    res.status = out.status;
    std::string content_type = "application/x-amz-json-1.1";
    for (const auto& [k, v] : out.headers) {
      if (k == "Content-Type") {
        content_type = v;
      } else {
        res.set_header(k, v);
      }
    }
    res.set_content(std::move(out.body), content_type.c_str());
  };
  constexpr char kAnyPath[] = R"(/.*)";
  // KMS calls are POST /: match that first with the cheapest pattern.
  s.Post("/", handle);
  s.Post(kAnyPath, handle);
  s.Get(kAnyPath, handle);
  s.Put(kAnyPath, handle);
  s.Patch(kAnyPath, handle);
  s.Delete(kAnyPath, handle);
  s.Options(kAnyPath, handle);

  const int port = options.port == 0 ? s.bind_to_any_port(options.host)
                                     : (s.bind_to_port(options.host, options.port)
                                            ? options.port
                                            : -1);
  if (port <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.host, ":", options.port));
  }
  state->port = port;
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
}

int HttpServer::port() const { return state_->port; }

absl::Status HttpServer::Run() {
  if (!state_->server->listen_after_bind()) {
    return absl::UnavailableError("the HTTP server stopped with an error");
  }
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (state_ && state_->server) state_->server->stop();
}

}  // namespace veil::kms_server
