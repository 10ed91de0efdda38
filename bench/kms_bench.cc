// kms_bench: a closed-loop load generator for KMS endpoints. Each of
// --clients threads holds one keep-alive HTTP connection and sends SigV4-
// signed GenerateDataKey or Decrypt calls back to back for --seconds; the
// tool prints throughput and latency percentiles as one JSON line. The same
// generator drives veil-kms and moto_server (bench/kms_bench.sh), so the two
// are measured under identical load.
//
// usage: kms_bench --endpoint http://127.0.0.1:PORT --key-id ID --op GenerateDataKey
//                  [--clients 8] [--seconds 5] [--region us-east-1]
// Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "veil/common/byte_reader.h"
#include "veil/common/secret_bytes.h"
#include "veil/kms/sigv4.h"

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

struct Options {
  std::string endpoint;
  std::string key_id;
  std::string op = "GenerateDataKey";
  std::string region = "us-east-1";
  int clients = 8;
  double seconds = 5;
};

struct Endpoint {
  std::string host;
  int port = 0;
};

bool ParseEndpoint(const std::string& url, Endpoint* out) {
  const std::string prefix = "http://";
  if (url.rfind(prefix, 0) != 0) return false;
  const std::string hostport = url.substr(prefix.size());
  const size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return false;
  out->host = hostport.substr(0, colon);
  out->port = std::atoi(hostport.substr(colon + 1).c_str());
  return out->port > 0;
}

// Call sends one signed request on `client` and returns the HTTP status
// (-1 on a transport error) and the body.
int Call(httplib::Client& client, const veil::kms::SigV4Signer& signer,
         const veil::kms::AwsCredentials& creds, const Options& o, const Endpoint& ep,
         const std::string& op, const std::string& body, std::string* response) {
  veil::kms::HttpRequestParts parts;
  parts.method = "POST";
  parts.path = "/";
  parts.headers = {{"Host", ep.host + ":" + std::to_string(ep.port)},
                   {"Content-Type", "application/x-amz-json-1.1"},
                   {"X-Amz-Target", "TrentService." + op}};
  parts.body = body;
  veil::kms::SigningConfig config{o.region, "kms", absl::Now()};
  if (!signer.Sign(creds, config, parts).ok()) return -1;
  httplib::Headers headers;
  for (const auto& [k, v] : parts.headers) {
    if (k != "Host" && k != "Content-Type") headers.emplace(k, v);
  }
  auto res = client.Post("/", headers, body, "application/x-amz-json-1.1");
  if (!res) return -1;
  if (response != nullptr) *response = res->body;
  return res->status;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app("kms_bench: closed-loop KMS load generator", "kms_bench");
  app.add_option("--endpoint", o.endpoint, "http://HOST:PORT")->required();
  app.add_option("--key-id", o.key_id, "Key to use")->required();
  app.add_option("--op", o.op, "GenerateDataKey or Decrypt")->capture_default_str();
  app.add_option("--clients", o.clients, "Concurrent keep-alive clients")->capture_default_str();
  app.add_option("--seconds", o.seconds, "Measurement time")->capture_default_str();
  app.add_option("--region", o.region, "SigV4 region")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  Endpoint ep;
  if (!ParseEndpoint(o.endpoint, &ep) || (o.op != "GenerateDataKey" && o.op != "Decrypt")) {
    std::fprintf(stderr, "kms_bench: bad --endpoint or --op\n");
    return 2;
  }
  const char* id = std::getenv("AWS_ACCESS_KEY_ID");
  const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  if (id == nullptr || secret == nullptr) {
    std::fprintf(stderr, "kms_bench: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n");
    return 2;
  }
  veil::kms::AwsCredentials creds;
  creds.access_key_id = id;
  creds.secret_access_key = veil::SecretBytes::Copy(veil::AsBytes(secret));
  veil::kms::SigV4Signer signer;

  const std::string gdk_body =
      Json{{"KeyId", o.key_id}, {"KeySpec", "AES_256"}}.dump();
  std::string body = gdk_body;
  if (o.op == "Decrypt") {
    // One data key to decrypt over and over.
    httplib::Client setup(ep.host, ep.port);
    std::string response;
    if (Call(setup, signer, creds, o, ep, "GenerateDataKey", gdk_body, &response) != 200) {
      std::fprintf(stderr, "kms_bench: setup GenerateDataKey failed: %s\n", response.c_str());
      return 1;
    }
    Json r = Json::parse(response, nullptr, false);
    body = Json{{"CiphertextBlob", r["CiphertextBlob"]}}.dump();
  }

  std::atomic<bool> measuring{false}, stop{false};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(o.clients));
  std::vector<uint64_t> failures(static_cast<size_t>(o.clients), 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < o.clients; ++i) {
    threads.emplace_back([&, i] {
      httplib::Client client(ep.host, ep.port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(30, 0);
      auto& mine = latencies[static_cast<size_t>(i)];
      mine.reserve(1 << 16);
      while (!stop.load(std::memory_order_relaxed)) {
        const auto start = Clock::now();
        const int status = Call(client, signer, creds, o, ep, o.op, body, nullptr);
        const auto end = Clock::now();
        if (!measuring.load(std::memory_order_relaxed)) continue;  // warm-up
        if (status != 200) {
          ++failures[static_cast<size_t>(i)];
          continue;
        }
        mine.push_back(std::chrono::duration<double, std::milli>(end - start).count());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  measuring = true;
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  measuring = false;
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  stop = true;
  for (auto& t : threads) t.join();

  std::vector<double> all;
  uint64_t failed = 0;
  for (size_t i = 0; i < latencies.size(); ++i) {
    all.insert(all.end(), latencies[i].begin(), latencies[i].end());
    failed += failures[i];
  }
  std::sort(all.begin(), all.end());
  auto pct = [&all](double p) {
    if (all.empty()) return 0.0;
    return all[std::min(all.size() - 1, static_cast<size_t>(p * static_cast<double>(all.size())))];
  };
  const Json out = {{"op", o.op},
                    {"clients", o.clients},
                    {"seconds", elapsed},
                    {"requests", all.size()},
                    {"failures", failed},
                    {"throughput_rps", static_cast<double>(all.size()) / elapsed},
                    {"p50_ms", pct(0.50)},
                    {"p99_ms", pct(0.99)},
                    {"max_ms", all.empty() ? 0.0 : all.back()}};
  std::printf("%s\n", out.dump().c_str());
  return failed == 0 && !all.empty() ? 0 : 1;
}
