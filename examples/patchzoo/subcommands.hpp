#pragma once
// Every subcommand lives in its own .cpp file and adds itself to the app through one function here;
// main.cpp calls each of them. A new subcommand is one file plus one line here and one in main.cpp.
//
// Conventions for all subcommands: progress goes to stderr (patchzoo/util/progress.hpp); results go
// to stdout through patchzoo::report, and with --json stdout holds exactly one JSON object.
namespace CLI {
class App;
}

void register_info(CLI::App& app);
void register_tiny_lm(CLI::App& app);
void register_serve(CLI::App& app);
void register_zoo(CLI::App& app);
void register_tokenizer(CLI::App& app);
void register_entropy(CLI::App& app);
void register_dpar(CLI::App& app);
void register_dpar_experiment(CLI::App& app);
void register_dpar_evaluate(CLI::App& app);
void register_attack(CLI::App& app);
void register_demo(CLI::App& app);
void register_llamagen(CLI::App& app);
