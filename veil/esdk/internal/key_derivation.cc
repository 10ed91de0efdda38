#include "veil/esdk/internal/key_derivation.h"

#include "absl/status/status.h"
#include "veil/common/byte_reader.h"
#include "veil/common/byte_writer.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/hkdf.h"

namespace veil::esdk::internal {

absl::StatusOr<DerivedKeys> DeriveKeys(const AlgorithmSuite& suite, absl::Span<const uint8_t> pdk,
                                       absl::Span<const uint8_t> message_id) {
  if (pdk.size() != suite.key_length) {
    return absl::InvalidArgumentError("plaintext data key length does not match the suite");
  }
  DerivedKeys keys;
  if (!suite.kdf_hash) {
    // Identity KDF (00xx suites).
    keys.data_key = SecretBytes::Copy(pdk);
    return keys;
  }
  ByteWriter info(16);
  info.WriteU16(suite.id);
  if (!suite.committing) {
    //= framework/algorithm-suites.md#hkdf-sha256-and-hkdf-sha384
    //# info: the algorithm suite ID followed by the message ID; no salt.
    info.WriteBytes(message_id);
    VEIL_ASSIGN_OR_RETURN(keys.data_key,
                          crypto::Hkdf(*suite.kdf_hash, pdk, {}, info.bytes(), suite.key_length));
    return keys;
  }
  //= framework/algorithm-suites.md#key-commitment
  //# The message ID is the HKDF salt; data key info = suite ID ‖ "DERIVEKEY",
  //# commit key info = "COMMITKEY" (no suite ID).
  VEIL_ASSIGN_OR_RETURN(SecretBytes prk, crypto::HkdfExtract(*suite.kdf_hash, message_id, pdk));
  info.WriteString("DERIVEKEY");
  VEIL_ASSIGN_OR_RETURN(keys.data_key, crypto::HkdfExpand(*suite.kdf_hash, prk.Expose(),
                                                          info.bytes(), suite.key_length));
  VEIL_ASSIGN_OR_RETURN(SecretBytes commit,
                        crypto::HkdfExpand(*suite.kdf_hash, prk.Expose(), AsBytes("COMMITKEY"), 32));
  keys.commit_key.assign(commit.Expose().begin(), commit.Expose().end());
  return keys;
}

}  // namespace veil::esdk::internal
