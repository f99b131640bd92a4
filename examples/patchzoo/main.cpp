// The `patchzoo` command-line program. Errors print `patchzoo: error: <message>` on stderr and exit 1;
// command-line mistakes keep CLI11's own message and exit code, except an unknown subcommand, which is named
// with the ones there are (exit code 109, CLI11's for an unexpected argument). Under mpirun / srun the
// process joins the job first (distributed.hpp); an error on any rank then ends the whole job.
#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "patchzoo/backend/cpu_threads.hpp"
#include "patchzoo/core/error.hpp"
#include "patchzoo/version.hpp"
#include "distributed.hpp"
#include "subcommands.hpp"

namespace {

// CLI11 answers an unknown word where a subcommand belongs with "A subcommand is required". Following the
// command line through the known subcommands finds that word; "" when there is none.
std::string unknown_subcommand_message(const CLI::App& app, int argc, char** argv) {
  const CLI::App* current = &app;
  std::string path = "patchzoo";
  for (int i = 1; i < argc && current->get_require_subcommand_min() > 0; ++i) {
    const std::string word = argv[i];
    if (word.starts_with("-")) return {};  // an option, not a misspelt subcommand: CLI11's message stands
    const auto known = current->get_subcommands([](const CLI::App*) { return true; });
    const CLI::App* next = nullptr;
    std::string names;
    for (const auto* sub : known) {
      if (sub->get_name() == word) next = sub;
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (next == nullptr) return "unknown subcommand '" + word + "': " + path + " takes one of " + names;
    current = next;
    path += " " + word;
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"patchzoo: DPAR and PSML models over pluggable tensor backends"};
  app.set_version_flag("--version", PATCHZOO_VERSION_STRING);
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();  // --help shows every option's default; subcommands inherit it

  for (auto* register_subcommand : {register_info, register_tiny_lm, register_serve, register_zoo, register_tokenizer,
                                        register_entropy, register_dpar, register_dpar_experiment, register_dpar_evaluate,
                                        register_attack, register_demo, register_llamagen})
    register_subcommand(app);

  try {
    patchzoo::cli::join_job(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "patchzoo: error: " << e.what() << "\n";
    return 1;
  }

  // One OpenMP thread per idle core, not per core: spinning threads on a shared machine cost 3x (cpu_threads.hpp).
  // The ranks of a job on this machine share its idle cores.
  const int cores = omp_get_max_threads();
  const int threads = patchzoo::cli::threads_per_rank(patchzoo::use_idle_cores());
  omp_set_num_threads(threads);
  if (patchzoo::cli::job_communicator().size() > 1)
    std::cerr << "patchzoo: " << patchzoo::cli::job_description() << ", " << threads << " OpenMP thread"
              << (threads == 1 ? "" : "s") << " per rank\n";
  else if (threads < cores)
    std::cerr << "patchzoo: " << cores - threads << " of " << cores << " cores busy with other work: using " << threads
              << " OpenMP thread" << (threads == 1 ? "" : "s") << " (OMP_NUM_THREADS=N chooses)\n";

  try {
    patchzoo::cli::check_runs_in_job(argc, argv);
    app.parse(argc, argv);  // runs the chosen subcommand's callback
  } catch (const CLI::ParseError& e) {
    if (const auto unknown = unknown_subcommand_message(app, argc, argv); !unknown.empty())
      return app.exit(CLI::ParseError(unknown, CLI::ExitCodes::ExtrasError));
    return app.exit(e);
  } catch (const std::exception& e) {
    return patchzoo::cli::fail(e.what());
  }
  return 0;
}
