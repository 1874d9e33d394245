// Linked into every program of the sanitizer build (unit tests, fuzzers): UBSan stops at the
// first error, as ASan does by default, with the known third-party findings of ubsan.supp
// suppressed. Set here rather than in the environment, so a binary run by hand behaves the same.
extern "C" const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1:suppressions=" DX_SOURCE_DIR "/tests/fuzz/ubsan.supp";
}

// LeakSanitizer: Poco 1.11's PostgreSQL connector does not PQfinish a connection that failed to
// open (SessionHandle::connect), so every refused store URL leaks libpq's connection object.
extern "C" const char* __lsan_default_suppressions() { return "leak:PQconnectStart\n"; }
