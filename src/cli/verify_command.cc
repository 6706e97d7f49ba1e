// `tapvault verify`: offline check of a cold store (store::Verify). Flags only.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "store/verify.h"

namespace tapvault::cli {

void AddVerifyCommand(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "verify",
      "Verify a cold store offline: every record against the Merkle log, tiles, signed "
      "checkpoints and index rows (needs no keys). Exit 0 intact, 1 corrupt, 2 not a store");
  struct Flags {
    std::string data, checkpoint, key;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Store directory")->required();
  cmd->add_option("--checkpoint", f->checkpoint,
                  "An earlier checkpoint note (file) to prove that the log only grew since");
  cmd->add_option("--key", f->key,
                  "The log's verifier key (default: DATA/log/verifier.key, which must match the "
                  "catalog); give the one you obtained out of band to not trust the store's copy");
  cmd->add_flag("--json", f->json, "Print the report as one JSON object");
  cmd->callback([&run, f] {
    run = [f] {
      constexpr size_t kMaxListed = 20;
      auto report = store::Verify(
          {.dir = f->data, .earlier_checkpoint = f->checkpoint, .verifier_key = f->key});
      if (!report.ok()) {
        std::fprintf(stderr, "tapvault verify: %.*s\n",
                     static_cast<int>(report.status().message().size()),
                     report.status().message().data());
        return 2;
      }
      const store::VerifyReport& r = *report;
      if (f->json) {
        std::printf("%s\n", r.Json().c_str());
        return r.ok ? 0 : 1;
      }
      std::printf("%s\n", r.Summary().c_str());
      for (size_t i = 0; i < r.problems.size() && i < kMaxListed; ++i) {
        std::printf("problem: %s\n", r.problems[i].c_str());
      }
      const uint64_t unlisted =
          r.more_problems + (r.problems.size() > kMaxListed ? r.problems.size() - kMaxListed : 0);
      if (unlisted > 0) {
        std::printf("... and %llu more problems (--json lists up to %zu)\n",
                    static_cast<unsigned long long>(unlisted), store::VerifyReport::kMaxKept);
      }
      for (size_t i = 0; i < r.notes.size() && i < kMaxListed; ++i) {
        std::printf("note: %s\n", r.notes[i].c_str());
      }
      if (r.destroyed_records > 0) {
        std::printf("%llu records of destroyed keys verified (content unreadable by design)\n",
                    static_cast<unsigned long long>(r.destroyed_records));
      }
      std::fprintf(stderr, "verified %llu bytes in %.2f s\n",
                   static_cast<unsigned long long>(r.bytes), r.seconds);
      return r.ok ? 0 : 1;
    };
  });
}

}  // namespace tapvault::cli
