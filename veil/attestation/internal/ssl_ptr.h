// veil/attestation's names for the shared OpenSSL helpers in
// veil/crypto/ssl_ptr.h (STYLE.md C5: only veil/crypto and veil/attestation
// call OpenSSL). Nothing outside veil/attestation includes this header.
#ifndef VEIL_ATTESTATION_INTERNAL_SSL_PTR_H_
#define VEIL_ATTESTATION_INTERNAL_SSL_PTR_H_

#include "veil/crypto/ssl_ptr.h"

namespace veil::attestation::internal {

using ::veil::crypto::SslDeleter;
using ::veil::crypto::SslError;
using ::veil::crypto::SslPtr;

}  // namespace veil::attestation::internal

#endif  // VEIL_ATTESTATION_INTERNAL_SSL_PTR_H_
