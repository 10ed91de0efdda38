// The enclave's path to KMS, end to end on one machine, with Unix sockets
// standing in for vsock:
//
//   HttpKmsClient (https://kms.veil.test:P, connect_host 127.0.0.1, pinned CA)
//     -> enclave-side ByteProxy  tcp:127.0.0.1:P      -> unix:DIR/kms.sock
//     -> host-side ByteProxy     unix:DIR/kms.sock    -> tcp:127.0.0.1:<veil-kms>
//     -> veil-kms serve --tls-cert (a certificate for kms.veil.test)
//
// KMS calls work through both proxies; a client pinning another CA is
// refused (and not retried); and every byte the host-side proxy carried is
// a TLS record, with none of the operation names, key ids, credentials or
// data key bytes in it.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "veil/kms/client.h"
#include "veil/proxy/byte_proxy.h"
#include "veil/testing/status_matchers.h"
#include "veil/wire/transport.h"

extern char** environ;

namespace veil::kms {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::veil::testing::StatusIs;

constexpr char kServerName[] = "kms.veil.test";
constexpr char kRegion[] = "us-east-1";
constexpr char kPrincipal[] = "arn:aws:iam::111122223333:user/enclave-parent";

std::string VeilKmsBinary() {
  if (const char* env = std::getenv("VEIL_KMS_BINARY"); env != nullptr && *env != '\0') {
    return env;
  }
  return std::string(VEIL_BINARY_DIR) + "/bin/veil-kms";
}

bool Run(const std::string& command) {
  return std::system(("(" + command + ") >/dev/null 2>&1").c_str()) == 0;
}

// MakeCa writes a CA and, if `server`, a certificate it issued for
// kServerName (serverAuth), with the openssl CLI.
bool MakeCa(const fs::path& dir, const std::string& name, bool server) {
  const std::string p = (dir / name).string();
  std::string cmd =
      "set -e; openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=" + name +
      " test CA' -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign "
      "-keyout '" + p + "-ca.key' -out '" + p + "-ca.pem'";
  if (server) {
    cmd += "; printf 'subjectAltName=DNS:" + std::string(kServerName) +
           "\\nextendedKeyUsage=serverAuth\\n' > '" + p + "-server.ext'"
           "; openssl req -newkey rsa:2048 -nodes -subj /CN=" + kServerName + " -keyout '" + p +
           "-server.key' -out '" + p + "-server.csr'"
           "; openssl x509 -req -in '" + p + "-server.csr' -CA '" + p + "-ca.pem' -CAkey '" + p +
           "-ca.key' -set_serial 2 -days 1 -extfile '" + p + "-server.ext' -out '" + p +
           "-server.pem'";
  }
  return Run(cmd);
}

// VeilKmsProcess runs `veil-kms serve` with TLS on a free loopback port.
class VeilKmsProcess {
 public:
  ~VeilKmsProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

  // Start serves HTTPS with `cert` and `key`, or plain HTTP when both are
  // empty.
  absl::Status Start(const std::string& binary, const fs::path& dir, const std::string& cert,
                     const std::string& key) {
    const std::string data = (dir / "kms-data").string();
    const std::string port_file = (dir / "kms.port").string();
    fs::create_directories(data);
    fs::permissions(data, fs::perms::owner_all);
    // The principal the enclave's parent calls as.
    FILE* out = ::popen(("'" + binary + "' principal add --data-dir '" + data + "' --arn " +
                         kPrincipal + " 2>/dev/null").c_str(),
                        "r");
    if (out == nullptr) return absl::UnavailableError("cannot run veil-kms principal add");
    char line[512];
    while (std::fgets(line, sizeof(line), out) != nullptr) {
      std::string s(line);
      while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
      const size_t eq = s.find('=');
      if (eq != std::string::npos) creds_[s.substr(0, eq)] = s.substr(eq + 1);
    }
    if (::pclose(out) != 0 || creds_.count("AWS_ACCESS_KEY_ID") == 0) {
      return absl::UnavailableError("veil-kms principal add failed");
    }

    std::vector<std::string> args = {binary, "serve", "--listen", "127.0.0.1:0", "--data-dir",
                                     data, "--port-file", port_file};
    if (!cert.empty()) args.insert(args.end(), {"--tls-cert", cert, "--tls-key", key});
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = (dir / "kms.log").string();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = ::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return absl::UnavailableError("cannot start veil-kms serve");

    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      std::ifstream in(port_file);
      if (in >> port_ && port_ > 0) return absl::OkStatus();
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        std::ifstream l(log);
        std::stringstream ss;
        ss << l.rdbuf();
        return absl::UnavailableError("veil-kms serve exited: " + ss.str());
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return absl::DeadlineExceededError("veil-kms serve did not write its port");
  }

  int port() const { return port_; }
  AwsCredentials credentials() const {
    const std::string& secret = creds_.at("AWS_SECRET_ACCESS_KEY");
    return AwsCredentials{creds_.at("AWS_ACCESS_KEY_ID"),
                          SecretBytes::Copy(absl::MakeConstSpan(
                              reinterpret_cast<const uint8_t*>(secret.data()), secret.size())),
                          ""};
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::map<std::string, std::string> creds_;
};

// Capture records what the host-side proxy carried, per connection and
// direction.
class Capture {
 public:
  void Add(uint64_t id, proxy::Direction d, absl::Span<const uint8_t> bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string& s = streams_[{id, d == proxy::Direction::kToDestination}];
    s.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  // Streams returns {connection id, to destination?} -> bytes.
  std::map<std::pair<uint64_t, bool>, std::string> Streams() {
    std::lock_guard<std::mutex> lock(mu_);
    return streams_;
  }

 private:
  std::mutex mu_;
  std::map<std::pair<uint64_t, bool>, std::string> streams_;
};

// CheckTlsRecords checks that `stream` is a whole sequence of TLS records:
// content type 0x14..0x17 (change_cipher_spec, alert, handshake,
// application_data), record version 0x0303, a length of at most 2^14 + 256,
// nothing left over. The client's first record (its ClientHello) may carry
// 0x0301, which RFC 8446 section 5.1 allows for compatibility.
::testing::AssertionResult CheckTlsRecords(const std::string& stream, bool from_client,
                                           int* records) {
  size_t off = 0;
  *records = 0;
  while (off < stream.size()) {
    if (stream.size() - off < 5) {
      return ::testing::AssertionFailure() << "truncated record header at " << off;
    }
    const auto type = static_cast<uint8_t>(stream[off]);
    const int version = (static_cast<uint8_t>(stream[off + 1]) << 8) |
                        static_cast<uint8_t>(stream[off + 2]);
    const size_t len = (static_cast<size_t>(static_cast<uint8_t>(stream[off + 3])) << 8) |
                       static_cast<uint8_t>(stream[off + 4]);
    if (type < 0x14 || type > 0x17) {
      return ::testing::AssertionFailure()
             << "record " << *records << " at " << off << " has content type " << int{type};
    }
    const bool first_client_hello = from_client && *records == 0 && type == 0x16;
    if (version != 0x0303 && !(first_client_hello && version == 0x0301)) {
      return ::testing::AssertionFailure()
             << "record " << *records << " at " << off << " has version " << std::hex << version;
    }
    if (len > (1u << 14) + 256) {
      return ::testing::AssertionFailure() << "record " << *records << " is " << len << " bytes";
    }
    if (stream.size() - off - 5 < len) {
      return ::testing::AssertionFailure() << "record " << *records << " is cut short";
    }
    off += 5 + len;
    ++*records;
  }
  return ::testing::AssertionSuccess();
}

std::string Str(absl::Span<const uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

class EnclavePathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string binary = VeilKmsBinary();
    if (!fs::exists(binary)) GTEST_SKIP() << "veil-kms is not built at " << binary;
    char tmpl[] = "/tmp/veil-enclave-path-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    if (!MakeCa(dir_, "kms", /*server=*/true) || !MakeCa(dir_, "other", /*server=*/false)) {
      GTEST_SKIP() << "the openssl CLI is not available";
    }
    if (tls()) {
      VEIL_ASSERT_OK(kms_.Start(binary, dir_, (dir_ / "kms-server.pem").string(),
                                (dir_ / "kms-server.key").string()));
    } else {
      VEIL_ASSERT_OK(kms_.Start(binary, dir_, "", ""));
    }

    // Host side: the parent instance's proxy, from the enclave's socket to
    // the key service. Everything it carries is captured.
    proxy::ByteProxyOptions host_options;
    host_options.tap = [this](uint64_t id, proxy::Direction d, absl::Span<const uint8_t> b) {
      capture_.Add(id, d, b);
    };
    VEIL_ASSERT_OK_AND_ASSIGN(wire::Endpoint kms_sock,
                              wire::ParseEndpoint("unix:" + (dir_ / "kms.sock").string()));
    VEIL_ASSERT_OK_AND_ASSIGN(
        wire::Endpoint kms_tcp,
        wire::ParseEndpoint("tcp:127.0.0.1:" + std::to_string(kms_.port())));
    VEIL_ASSERT_OK_AND_ASSIGN(host_proxy_,
                              proxy::ByteProxy::Create(kms_sock, kms_tcp, host_options));
    // Enclave side: a loopback listener in the enclave's network namespace
    // that leads to the host's socket.
    VEIL_ASSERT_OK_AND_ASSIGN(wire::Endpoint any_port, wire::ParseEndpoint("tcp:127.0.0.1:0"));
    VEIL_ASSERT_OK_AND_ASSIGN(enclave_proxy_, proxy::ByteProxy::Create(any_port, kms_sock));
  }

  void TearDown() override {
    enclave_proxy_.reset();
    host_proxy_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  virtual bool tls() const { return true; }

  HttpKmsClientOptions ClientOptions(const std::string& ca) {
    HttpKmsClientOptions o;
    o.endpoint = std::string(tls() ? "https://" : "http://") + kServerName + ":" +
                 std::to_string(enclave_proxy_->listen_endpoint().port);
    o.connect_host = "127.0.0.1";
    o.ca_file = (dir_ / (ca + "-ca.pem")).string();
    o.region = kRegion;
    o.credentials = kms_.credentials();
    o.connect_timeout = absl::Seconds(5);
    o.timeout = absl::Seconds(10);
    o.sleep = [this](absl::Duration d) { sleeps_.push_back(d); };
    return o;
  }

  fs::path dir_;
  VeilKmsProcess kms_;
  Capture capture_;
  std::unique_ptr<proxy::ByteProxy> host_proxy_;
  std::unique_ptr<proxy::ByteProxy> enclave_proxy_;
  std::vector<absl::Duration> sleeps_;
};

TEST_F(EnclavePathTest, KmsCallsWorkThroughBothProxiesAndTheHostSeesOnlyTlsRecords) {
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<KmsClient> client,
                            HttpKmsClient::Create(ClientOptions("kms")));
  CreateKeyRequest create;
  create.description = "tenant acme";
  VEIL_ASSERT_OK_AND_ASSIGN(CreateKeyResponse key, client->CreateKey(create));
  const std::string key_id = key.key_metadata.key_id;
  const std::string arn = key.key_metadata.arn;
  ASSERT_FALSE(key_id.empty());

  const EncryptionContext context = {{"tenant", "acme"}, {"purpose", "ml-inference"}};
  GenerateDataKeyRequest gdk;
  gdk.key_id = arn;
  gdk.number_of_bytes = 32;
  gdk.encryption_context = context;
  VEIL_ASSERT_OK_AND_ASSIGN(GenerateDataKeyResponse generated, client->GenerateDataKey(gdk));
  ASSERT_EQ(generated.plaintext.size(), 32u);

  DecryptRequest decrypt;
  decrypt.ciphertext_blob = generated.ciphertext_blob;
  decrypt.encryption_context = context;
  VEIL_ASSERT_OK_AND_ASSIGN(DecryptResponse opened, client->Decrypt(decrypt));
  EXPECT_EQ(opened.key_id, arn);
  ASSERT_EQ(opened.plaintext.size(), 32u);
  EXPECT_TRUE(std::equal(opened.plaintext.Expose().begin(), opened.plaintext.Expose().end(),
                         generated.plaintext.Expose().begin()));
  const std::string data_key = Str(generated.plaintext.Expose());

  // Close the client's keep-alive connection, then let both proxies finish
  // (every tapped byte is in the capture once Stop returns).
  client.reset();
  enclave_proxy_->Stop(absl::Seconds(5));
  host_proxy_->Stop(absl::Seconds(5));

  const proxy::ByteProxyStats stats = host_proxy_->Stats();
  EXPECT_GE(stats.connections_accepted, 1u);
  EXPECT_EQ(stats.connect_failures, 0u);
  const auto streams = capture_.Streams();
  ASSERT_FALSE(streams.empty());
  uint64_t to_destination = 0, to_client = 0;
  int total_records = 0;
  const std::vector<std::string> secrets = {
      "TrentService",
      "GenerateDataKey",
      "CreateKey",
      "Decrypt",
      "x-amz-json-1.1",
      "tenant acme",
      "ml-inference",
      key_id,
      arn,
      kms_.credentials().access_key_id,
      data_key,
      absl::Base64Escape(data_key),
      absl::Base64Escape(Str(generated.ciphertext_blob)),
  };
  for (const auto& [where, bytes] : streams) {
    const bool from_client = where.second;
    SCOPED_TRACE("connection " + std::to_string(where.first) +
                 (from_client ? " to KMS" : " from KMS"));
    (from_client ? to_destination : to_client) += bytes.size();
    int records = 0;
    EXPECT_TRUE(CheckTlsRecords(bytes, from_client, &records));
    total_records += records;
    for (const std::string& secret : secrets) {
      EXPECT_EQ(bytes.find(secret), std::string::npos) << "plaintext on the wire: " << secret;
    }
  }
  // Three calls each way, plus the handshakes.
  EXPECT_GE(total_records, 8);
  EXPECT_EQ(to_destination, stats.bytes_to_destination);
  EXPECT_EQ(to_client, stats.bytes_to_client);
}

TEST_F(EnclavePathTest, AKeyServiceCertifiedByAnotherCaIsRefusedWithoutRetry) {
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<KmsClient> client,
                            HttpKmsClient::Create(ClientOptions("other")));
  GenerateDataKeyRequest gdk;
  gdk.key_id = "alias/anything";
  gdk.number_of_bytes = 32;
  absl::StatusOr<GenerateDataKeyResponse> r = client->GenerateDataKey(gdk);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("SSLServerVerification"));
  EXPECT_TRUE(sleeps_.empty());  // not retried
  client.reset();
  enclave_proxy_->Stop(absl::Seconds(5));
  host_proxy_->Stop(absl::Seconds(5));
  // One connection, cut during the handshake: no request went out.
  EXPECT_EQ(host_proxy_->Stats().connections_accepted, 1u);
  for (const auto& [where, bytes] : capture_.Streams()) {
    EXPECT_EQ(bytes.find("TrentService"), std::string::npos);
  }
}

// The control: the same path with a key service without TLS. The capture
// then shows the requests, so its silence above is not blindness.
class PlainHttpControlTest : public EnclavePathTest {
 protected:
  bool tls() const override { return false; }
};

TEST_F(PlainHttpControlTest, WithoutTlsTheHostWouldSeeEverything) {
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<KmsClient> client,
                            HttpKmsClient::Create(ClientOptions("kms")));
  VEIL_ASSERT_OK_AND_ASSIGN(CreateKeyResponse key, client->CreateKey({}));
  GenerateDataKeyRequest gdk;
  gdk.key_id = key.key_metadata.arn;
  gdk.number_of_bytes = 32;
  VEIL_ASSERT_OK_AND_ASSIGN(GenerateDataKeyResponse generated, client->GenerateDataKey(gdk));
  client.reset();
  enclave_proxy_->Stop(absl::Seconds(5));
  host_proxy_->Stop(absl::Seconds(5));
  std::string all;
  for (const auto& [where, bytes] : capture_.Streams()) all += bytes;
  EXPECT_NE(all.find("TrentService.GenerateDataKey"), std::string::npos);
  EXPECT_NE(all.find(key.key_metadata.key_id), std::string::npos);
  EXPECT_NE(all.find(absl::Base64Escape(Str(generated.plaintext.Expose()))), std::string::npos);
  int records = 0;
  EXPECT_FALSE(CheckTlsRecords(all, true, &records));
}

}  // namespace
}  // namespace veil::kms
