// veil-sandbox-probe: a stand-in enclave for testing veil-nitro-run. It is
// NOT the real enclave. Started as `veil-sandbox-probe --config FILE`, it
// tries what an enclave must not be able to do (reach a network, read host
// files, write outside /tmp and /run/veil) and what it must (reach its NSM
// and get an attestation document), and writes what happened to
// /run/veil/probe.json (the document to /run/veil/probe-doc.cbor). Then it
// prints a marker on stdout and stderr, optionally lingers (to be stopped
// by the launcher), and exits with the configured status.
//
// Configuration (JSON): {"tcp_port": N, "host_home": "/root", "nonce_hex": "00ff",
//   "marker": "text", "exit_code": 0, "linger_seconds": 0, "ignore_sigterm": false}
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"
#include "veil/attestation/nsm/dev_nsm.h"
#include "veil/common/encoding.h"

extern char** environ;

namespace {

constexpr char kReportPath[] = "/run/veil/probe.json";
constexpr char kDocumentPath[] = "/run/veil/probe-doc.cbor";
constexpr char kSigtermPath[] = "/run/veil/probe-sigterm";
constexpr char kNsmSocket[] = "/run/veil/nsm.sock";
constexpr char kStartsPath[] = "/run/veil/probe-starts";

volatile sig_atomic_t g_sigterm = 0;

void OnSigterm(int) { g_sigterm = 1; }

nlohmann::json Attempt(bool ok, int err) {
  nlohmann::json j;
  j["ok"] = ok;
  j["error"] = ok ? "" : std::strerror(err);
  return j;
}

// Connect tries a TCP (stream) or UDP (datagram) exchange with ip:port
// within 2 s. TCP: ok when the connection is established. UDP: ok when a
// DNS query is sent and any answer arrives.
nlohmann::json Connect(const char* ip, uint16_t port, bool udp) {
  const int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0);
  if (fd < 0) return Attempt(false, errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, ip, &addr.sin_addr);
  nlohmann::json result;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 &&
      errno != EINPROGRESS) {
    result = Attempt(false, errno);
  } else if (!udp) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, 2000) <= 0) {
      result = Attempt(false, ETIMEDOUT);
    } else {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      result = Attempt(err == 0, err);
    }
  } else {
    // A DNS query for "." type NS.
    const unsigned char query[] = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1};
    if (send(fd, query, sizeof(query), 0) < 0) {
      result = Attempt(false, errno);
    } else {
      pollfd p{fd, POLLIN, 0};
      char buf[512];
      if (poll(&p, 1, 2000) <= 0) {
        result = Attempt(false, ETIMEDOUT);
      } else {
        result = Attempt(recv(fd, buf, sizeof(buf), 0) >= 0, errno);
      }
    }
  }
  close(fd);
  return result;
}

nlohmann::json TryRead(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return Attempt(false, errno);
  char c;
  const bool ok = read(fd, &c, 1) >= 0;
  const int err = errno;
  close(fd);
  return Attempt(ok, err);
}

nlohmann::json TryWrite(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return Attempt(false, errno);
  const bool ok = write(fd, "x", 1) == 1;
  const int err = errno;
  close(fd);
  unlink(path.c_str());
  return Attempt(ok, err);
}

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Interfaces() {
  // /proc/net/dev: two header lines, then "  name: counters".
  std::vector<std::string> names;
  std::istringstream lines(ReadAll("/proc/net/dev"));
  std::string line;
  for (int i = 0; std::getline(lines, line); ++i) {
    const size_t colon = line.find(':');
    if (i < 2 || colon == std::string::npos) continue;
    const size_t start = line.find_first_not_of(' ');
    names.push_back(line.substr(start, colon - start));
  }
  return names;
}

std::string CapEff() {
  std::istringstream lines(ReadAll("/proc/self/status"));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("CapEff:", 0) == 0) return line.substr(line.find_first_not_of(" \t", 7));
  }
  return "";
}

nlohmann::json ProbeNsm(const std::vector<uint8_t>& nonce) {
  namespace nsm = veil::attestation::nsm;
  nlohmann::json j;
  j["connected"] = false;
  auto device = nsm::DevNsm::ConnectSimulator(kNsmSocket);
  if (!device.ok()) {
    j["error"] = std::string(device.status().message());
    return j;
  }
  j["connected"] = true;
  j["kind"] = std::string(nsm::NsmKindName((*device)->Kind()));
  auto description = (*device)->DescribeNsm();
  if (!description.ok()) {
    j["error"] = std::string(description.status().message());
    return j;
  }
  j["module_id"] = description->module_id;
  auto doc = (*device)->GetAttestationDocument(std::nullopt, absl::MakeConstSpan(nonce),
                                               std::nullopt);
  if (!doc.ok()) {
    j["error"] = std::string(doc.status().message());
    return j;
  }
  std::ofstream out(kDocumentPath, std::ios::binary);
  out.write(reinterpret_cast<const char*>(doc->data()), static_cast<std::streamsize>(doc->size()));
  j["document_bytes"] = doc->size();
  j["error"] = "";
  return j;
}

// Listen is the host side of the network check (`--listen FILE`, run
// outside the sandbox): it listens on 127.0.0.1 at a free port, writes the
// port to FILE and appends a line to FILE.accepted for every connection.
int Listen(const std::string& file) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 16) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("veil-sandbox-probe --listen");
    return 1;
  }
  {
    std::ofstream tmp(file + ".tmp");
    tmp << ntohs(addr.sin_port) << "\n";
  }
  rename((file + ".tmp").c_str(), file.c_str());
  while (true) {
    const int c = accept(fd, nullptr, nullptr);
    if (c < 0) continue;
    std::ofstream(file + ".accepted", std::ios::app) << "accepted\n";
    close(c);
  }
}

int Main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--listen") return Listen(argv[2]);
  std::string config_path;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--config") config_path = argv[i + 1];
  }
  const nlohmann::json config =
      nlohmann::json::parse(ReadAll(config_path), nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) {
    std::fprintf(stderr, "veil-sandbox-probe: cannot read --config %s\n", config_path.c_str());
    return 3;
  }
  const int tcp_port = config.value("tcp_port", 0);
  const std::string host_home = config.value("host_home", "/root");
  const std::string marker = config.value("marker", "probe-marker");
  const int exit_code = config.value("exit_code", 0);
  const double linger_seconds = config.value("linger_seconds", 0.0);
  const bool ignore_sigterm = config.value("ignore_sigterm", false);
  std::vector<uint8_t> nonce;
  if (auto n = veil::HexDecode(config.value("nonce_hex", "")); n.ok()) nonce = *n;

  // Signals first, so that a stop that arrives while probing is seen.
  signal(SIGTERM, ignore_sigterm ? SIG_IGN : OnSigterm);
  // One line per start: the launcher must never restart the enclave.
  std::ofstream(kStartsPath, std::ios::app) << getpid() << "\n";

  nlohmann::json r;
  r["config"] = config_path;
  r["uid"] = static_cast<int64_t>(getuid());
  r["cap_eff"] = CapEff();
  r["pid"] = static_cast<int64_t>(getpid());
  rlimit as{};
  getrlimit(RLIMIT_AS, &as);
  r["rlimit_as"] = as.rlim_cur == RLIM_INFINITY ? nlohmann::json(nullptr)
                                                : nlohmann::json(static_cast<uint64_t>(as.rlim_cur));
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
  r["env"] = env;
  r["root_entries"] = List("/");
  r["app_entries"] = List("/enclave/app");
  r["bin_entries"] = List("/enclave/bin");
  r["interfaces"] = Interfaces();
  r["net"]["tcp_host_loopback"] = Connect("127.0.0.1", static_cast<uint16_t>(tcp_port), false);
  r["net"]["tcp_1.1.1.1:80"] = Connect("1.1.1.1", 80, false);
  r["net"]["udp_8.8.8.8:53"] = Connect("8.8.8.8", 53, true);
  r["read"]["/etc/passwd"] = TryRead("/etc/passwd");
  r["read"][host_home] = TryRead(host_home);
  struct stat st;
  r["host_home_visible"] = stat(host_home.c_str(), &st) == 0;
  r["read"]["config"] = TryRead(config_path);
  for (const char* p : {"/enclave/probe", "/enclave/app/probe", "/enclave/bin/probe", "/usr/probe",
                        "/probe", "/tmp/probe", "/run/veil/probe-write"}) {
    r["write"][p] = TryWrite(p);
  }
  r["write"]["config"] = Attempt(open(config_path.c_str(), O_WRONLY) >= 0, errno);
  r["nsm"] = ProbeNsm(nonce);

  const std::string tmp = std::string(kReportPath) + ".tmp";
  {
    std::ofstream out(tmp);
    out << r.dump(2) << "\n";
  }
  rename(tmp.c_str(), kReportPath);

  std::printf("probe stdout: %s\n", marker.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "probe stderr: %s\n", marker.c_str());

  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(static_cast<int64_t>(linger_seconds * 1000));
  while (g_sigterm == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (g_sigterm != 0) {
    std::ofstream(kSigtermPath) << "SIGTERM\n";
    std::printf("probe: SIGTERM received, exiting\n");
    return 0;
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
