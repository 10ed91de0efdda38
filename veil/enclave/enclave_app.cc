#include "veil/enclave/enclave_app.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "veil/attestation/nsm/dev_nsm.h"
#include "veil/attestation/nsm/mock_nsm.h"
#include "veil/common/secret_bytes.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/cms.h"
#include "veil/crypto/random.h"
#include "veil/esdk/raw_aes_keyring.h"
#include "veil/kms/kms_keyring.h"
#include "veil/wire/transport.h"

namespace veil::enclave {
namespace {

namespace nsm = attestation::nsm;

absl::StatusOr<SecretBytes> ReadKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("local key file not found: ", path));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  SecretBytes key = SecretBytes::Copy(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(bytes.data()),
                                      bytes.size()));
  SecureWipe(bytes.data(), bytes.size());
  return key;
}

void Log(const std::string& line) { std::fprintf(stderr, "veil-enclave: %s\n", line.c_str()); }

}  // namespace

EnclaveApp::~EnclaveApp() { Stop(); }

void EnclaveApp::Stop() {
  if (server_) server_->Stop();
  if (kms_forwarder_) kms_forwarder_->Stop();
}

absl::StatusOr<std::unique_ptr<EnclaveApp>> EnclaveApp::Create(EnclaveConfig config,
                                                               AppOptions options) {
  std::unique_ptr<EnclaveApp> app(new EnclaveApp(std::move(config)));
  const EnclaveConfig& c = app->config_;
  app->clock_ = options.clock ? options.clock : [] { return absl::Now(); };
  Log(absl::StrCat("starting: ", TierDescription(c)));

  // The NSM, and entropy from it.
  if (options.nsm != nullptr) {
    app->nsm_ = std::move(options.nsm);
  } else if (c.nsm == NsmSource::kDevice) {
    VEIL_ASSIGN_OR_RETURN(app->nsm_, nsm::DevNsm::Create(c.nsm_path));
  } else if (c.nsm == NsmSource::kSimulator) {
    VEIL_ASSIGN_OR_RETURN(app->nsm_, nsm::DevNsm::ConnectSimulator(c.nsm_path));
  } else {
    VEIL_ASSIGN_OR_RETURN(app->nsm_, nsm::MockNsm::Create());
  }
  if (c.nsm != NsmSource::kDevice) {
    Log(absl::StrCat("WARNING: NSM is ", std::string(NsmSourceName(c.nsm)),
                     ": attestation documents are not from AWS Nitro hardware"));
  }
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> seed, app->nsm_->GetRandom());
  crypto::AddEntropy(seed);

  // The enclave's ephemeral key pair.
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<crypto::RsaPrivateKey> key,
                        crypto::RsaPrivateKey::Generate(2048));
  VEIL_ASSIGN_OR_RETURN(app->public_key_der_, crypto::RecipientPublicKeyDer(*key));
  app->key_ = std::move(key);

  // The model.
  VEIL_ASSIGN_OR_RETURN(inference::LoadedModel model, inference::LoadModel(c.model));
  std::unique_ptr<inference::ModelRunner> runner = std::move(options.runner);
  if (runner == nullptr) {
    VEIL_ASSIGN_OR_RETURN(runner, inference::NewOpenCvModelRunner(
                                      model, inference::RunnerOptions{c.workers, c.threads}));
  }
  VEIL_ASSIGN_OR_RETURN(app->detector_,
                        inference::Detector::Create(model.manifest, std::move(runner)));
  Log(absl::StrCat("model ", model.manifest.id, " ", model.manifest.version, " sha256 ",
                   model.manifest.weights_sha256, model.derived ? " (no manifest)" : ""));

  VEIL_RETURN_IF_ERROR(app->BuildKeys(options));

  app->replay_ = std::make_unique<ReplayCache>(c.replay_capacity_per_tenant, app->clock_);
  PipelineOptions pipeline_options;
  pipeline_options.max_ttl = c.max_ttl;
  pipeline_options.clock = app->clock_;
  app->pipeline_ = std::make_unique<InferencePipeline>(app->keys_.get(), app->detector_.get(),
                                                       app->replay_.get(), pipeline_options);

  // The channel.
  VEIL_ASSIGN_OR_RETURN(wire::Endpoint endpoint, wire::ParseEndpoint(c.channel));
  VEIL_ASSIGN_OR_RETURN(wire::ScopedFd listener, wire::Listen(endpoint));
  EnclaveApp* self = app.get();
  Handlers handlers;
  handlers.infer = [self](const wire::InferRequest& r) { return self->pipeline_->Handle(r); };
  handlers.attest = [self](const wire::AttestRequest& r) {
    std::optional<absl::Span<const uint8_t>> nonce, user_data;
    if (r.nonce) nonce = absl::MakeConstSpan(*r.nonce);
    if (r.user_data) user_data = absl::MakeConstSpan(*r.user_data);
    return self->Attest(nonce, user_data);
  };
  handlers.health = [self] { return self->Health(); };
  handlers.credentials = [self](wire::CredentialsRequest& r) -> absl::Status {
    if (self->kms_ == nullptr) {
      return absl::FailedPreconditionError("this enclave's key tier uses no AWS credentials");
    }
    kms::AwsCredentials credentials{r.access_key_id, std::move(r.secret_access_key),
                                    r.session_token};
    return self->kms_->Update(std::move(credentials), r.expiration);
  };
  ServerOptions server_options;
  server_options.workers = c.workers;
  server_options.queue = c.queue;
  VEIL_ASSIGN_OR_RETURN(app->server_, EnclaveServer::Create(std::move(listener),
                                                            std::move(handlers), server_options));
  Log(absl::StrCat("listening on ", c.channel, " with ", c.workers, " worker(s), queue ",
                   c.queue));
  return app;
}

absl::Status EnclaveApp::BuildKeys(AppOptions&) {
  const EnclaveConfig& c = config_;
  std::map<std::string, std::shared_ptr<const esdk::Keyring>> keyrings;
  if (c.key_tier == KeyTier::kLocal) {
    Log("WARNING: key tier 'local': tenant keys are files in the image; development only");
    for (const auto& [tenant, t] : c.tenants) {
      VEIL_ASSIGN_OR_RETURN(SecretBytes key, ReadKeyFile(t.local_key_file));
      VEIL_ASSIGN_OR_RETURN(auto keyring,
                            esdk::RawAesKeyring::Create(t.key_namespace, t.key_name, std::move(key)));
      keyrings.emplace(tenant, std::move(keyring));
    }
    keys_ = std::make_unique<StaticKeyProvider>(std::move(keyrings));
    return absl::OkStatus();
  }

  kms::HttpKmsClientOptions base;
  base.endpoint = c.kms.endpoint;
  base.region = c.kms.region;
  base.ca_file = c.kms.ca_file;
  base.connect_host = c.kms.connect_host;
  kms_ = std::make_shared<RefreshableKmsClient>(std::move(base), clock_);
  if (!c.kms.proxy.empty()) {
    // The in-enclave half of the vsock-proxy pattern: TLS to the key
    // service runs from this process through a local listener, the parent's
    // byte proxy and on to KMS; the parent sees only TLS records.
    if (c.kms.connect_host.empty()) {
      return absl::InvalidArgumentError(
          "enclave config: keys.kms.connect_host is required with keys.kms.proxy");
    }
    VEIL_ASSIGN_OR_RETURN(uint16_t port, kms::KmsEndpointPort(c.kms.endpoint));
    VEIL_ASSIGN_OR_RETURN(wire::Endpoint to, wire::ParseEndpoint(c.kms.proxy));
    VEIL_ASSIGN_OR_RETURN(
        wire::Endpoint listen,
        wire::ParseEndpoint(absl::StrCat("tcp:", c.kms.connect_host, ":", port)));
    VEIL_ASSIGN_OR_RETURN(kms_forwarder_, proxy::ByteProxy::Create(listen, to));
    Log(absl::StrCat("KMS forwarder ", listen.ToString(), " -> ", to.ToString()));
  }
  for (const auto& [tenant, t] : c.tenants) {
    if (c.key_tier == KeyTier::kKms) {
      VEIL_ASSIGN_OR_RETURN(auto keyring, kms::KmsKeyring::Create(kms_, t.kms_key));
      keyrings.emplace(tenant, std::move(keyring));
    } else {
      std::shared_ptr<nsm::NsmDevice> device = nsm_;
      kms::AttestationSource source =
          [device](absl::Span<const uint8_t> public_key) -> absl::StatusOr<std::vector<uint8_t>> {
        return device->GetAttestationDocument(std::nullopt, std::nullopt, public_key);
      };
      VEIL_ASSIGN_OR_RETURN(auto keyring,
                            kms::KmsRecipientKeyring::Create(kms_, t.kms_key, source, key_));
      keyrings.emplace(tenant, std::move(keyring));
    }
  }
  if (c.key_tier == KeyTier::kKms) {
    Log("WARNING: key tier 'kms' without attestation: KMS returns plaintext data keys over TLS");
  }
  keys_ = std::make_unique<StaticKeyProvider>(std::move(keyrings));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> EnclaveApp::Attest(
    std::optional<absl::Span<const uint8_t>> nonce,
    std::optional<absl::Span<const uint8_t>> user_data) {
  return nsm_->GetAttestationDocument(user_data, nonce, absl::MakeConstSpan(public_key_der_));
}

wire::HealthResponse EnclaveApp::Health() const {
  wire::HealthResponse h;
  h.status = "ok";
  h.tier = TierDescription(config_);
  h.model = detector_->manifest().id;
  h.model_sha256 = detector_->manifest().weights_sha256;
  h.queue_depth = server_ ? server_->queue_depth() : 0;
  h.workers = static_cast<uint64_t>(config_.workers);
  return h;
}

}  // namespace veil::enclave
