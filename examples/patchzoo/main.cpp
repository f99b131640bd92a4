// The `patchzoo` command-line program. Errors print `patchzoo: error: <message>` on stderr and exit 1;
// command-line mistakes keep CLI11's own message and exit code.
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "patchzoo/core/error.hpp"
#include "patchzoo/version.hpp"
#include "subcommands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"patchzoo: DPAR and PSML models over pluggable tensor backends"};
  app.set_version_flag("--version", PATCHZOO_VERSION_STRING);
  app.require_subcommand(1);

  for (auto* register_subcommand : {register_info, register_tiny_lm, register_serve, register_zoo, register_tokenizer,
                                        register_entropy, register_dpar, register_dpar_experiment, register_dpar_evaluate,
                                        register_attack, register_demo})
    register_subcommand(app);

  try {
    app.parse(argc, argv);  // runs the chosen subcommand's callback
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const patchzoo::error& e) {
    std::cerr << "patchzoo: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "patchzoo: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
