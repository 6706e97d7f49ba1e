// Linked into every test binary (see tapvault_test in the top-level CMakeLists.txt): provides the
// paths tests need as environment variables, unless the caller already set them, so that a test
// binary run by hand behaves as under ctest.
#include <cstdlib>

namespace {
struct TestEnvironment {
  TestEnvironment() {
    setenv("TAPVAULT_SOURCE_DIR", TAPVAULT_TEST_SOURCE_DIR, /*overwrite=*/0);
    setenv("TAPVAULT_SHARED_DIR", TAPVAULT_TEST_SHARED_DIR, 0);
    setenv("TAPVAULT_BINARY", TAPVAULT_TEST_BINARY, 0);
  }
} environment;
}  // namespace
