// Test support (library tapvault_crypto_testing, link it only into tests): a throwaway SoftHSM2
// token so that tests of the PKCS#11 master key, here and in the store, run against a real token.
//
//   ASSIGN_OR_RETURN(std::string uri, crypto::NewSoftHsmMasterKeyUriForTest());
//   ASSIGN_OR_RETURN(auto mk, crypto::OpenPkcs11MasterKey(uri, /*create=*/true));
//
// The first call makes a private directory (under $TMPDIR or /tmp, removed at exit) with a
// softhsm2.conf, points SOFTHSM2_CONF at it and initializes one token there labelled "tapvault"
// (`softhsm2-util --init-token --free`, user PIN 1234, SO PIN 5678). Every call returns a URI with
// a new random object name on that token, so master keys from different calls never see each
// other's versions. One token per process rather than one per call because SoftHSM2 scans its
// token directory only at C_Initialize: a token made while a PKCS#11 MasterKey is open in the
// process would stay invisible. softhsm2-util missing is an error (FailedPrecondition), never a
// reason to skip: scripts/install-deps installs it. Thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace tapvault::crypto {

inline constexpr char kSoftHsmModulePathForTest[] = "/usr/lib/softhsm/libsofthsm2.so";
inline constexpr char kSoftHsmUserPinForTest[] = "1234";
inline constexpr char kSoftHsmSoPinForTest[] = "5678";
inline constexpr char kSoftHsmTokenLabelForTest[] = "tapvault";

// Returns "pkcs11:token=tapvault;object=tapvault-master-<16 hex>?module-path=...&pin-value=1234".
absl::StatusOr<std::string> NewSoftHsmMasterKeyUriForTest();

// The directory made by the first NewSoftHsmMasterKeyUriForTest (empty before): holds
// softhsm2.conf and tokens/; tests may put other files (a PIN file) there.
std::string SoftHsmDirForTest();

}  // namespace tapvault::crypto
