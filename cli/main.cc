// stegoctl: the command line of stego-cluster. `stegoctl --help` lists the commands; every command
// takes --help. Settings: settings.h; exit codes: output.h.
#include <iostream>
#include <sstream>

#include "cli/commands.h"

namespace {

using namespace stegoctl;

std::vector<Command> AllCommands() {
  std::vector<Command> all = StegoCommands();
  for (auto* more : {&LibraryCommands, &ClusterCommands}) {
    for (Command& c : more()) all.push_back(std::move(c));
  }
  all.push_back(BenchCommand());
  return all;
}

po::options_description OptionsOf(const Command& command) {
  po::options_description own("Options of " + command.name);
  if (command.declare) command.declare(own);
  return own;
}

void PrintUsage(std::ostream& out, const std::vector<Command>& commands) {
  out << "Usage: stegoctl [options] COMMAND [arguments]\n\nHide a message or a file in an image, get it back, "
         "and run the stego-cluster that does it.\n\nCommands:\n";
  Table table({"", ""});
  for (const Command& c : commands) table.Add({"  " + c.name, c.summary});
  table.Add({"  completion", "bash completion: source <(stegoctl completion bash)"});
  std::ostringstream rows;
  table.Print(rows);
  out << rows.str().substr(rows.str().find('\n') + 1) << "\n" << GlobalOptions()
      << "\nExit codes: 0 ok, 2 usage, 3 refused, 4 not found, 5 unauthorised, 6 no payload, 7 password,\n"
         "8 damaged payload, 9 cluster unavailable, 10 local file, 1 anything else.\n";
}

// Bash completion from the command table: commands first, then the chosen command's options (and
// files for everything else).
void PrintBashCompletion(std::ostream& out, const std::vector<Command>& commands) {
  std::string names = "completion", with_value;
  const po::options_description global = GlobalOptions();
  for (const auto& o : global.options()) {
    if (o->semantic()->max_tokens() > 0) with_value += "|" + o->canonical_display_name(po::command_line_style::allow_long);
  }
  out << "# stegoctl bash completion: source <(stegoctl completion bash)\n_stegoctl() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} cmd='' i\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n    case ${COMP_WORDS[i]} in\n"
      << "      " << with_value.substr(1) << "|-s|-o) ((i++)) ;;\n"
      << "      -*) ;;\n      *) cmd=${COMP_WORDS[i]}; break ;;\n    esac\n  done\n  case $cmd in\n";
  for (const Command& c : commands) {
    names += " " + c.name;
    std::string flags;
    const po::options_description own = OptionsOf(c);
    for (const auto& o : own.options()) flags += " " + o->canonical_display_name(po::command_line_style::allow_long);
    out << "    " << c.name << ") COMPREPLY=($(compgen -W '" << flags.substr(flags.empty() ? 0 : 1) << " --help' -- \"$cur\")) ;;\n";
  }
  out << "    '') COMPREPLY=($(compgen -W '" << names << "' -- \"$cur\")) ;;\n  esac\n}\n"
      << "complete -o default -F _stegoctl stegoctl\n";
}

// Every token of the command line but the command's name, in order.
std::vector<std::string> TokensWithoutCommand(const po::parsed_options& parsed) {
  std::vector<std::string> tokens;
  bool skipped = false;
  for (const po::option& o : parsed.options) {
    if (o.string_key == "command" && !skipped) {
      skipped = true;
      continue;
    }
    tokens.insert(tokens.end(), o.original_tokens.begin(), o.original_tokens.end());
  }
  return tokens;
}

int Run(int argc, char** argv) {
  const std::vector<Command> commands = AllCommands();
  po::options_description first_pass = GlobalOptions();
  first_pass.add_options()("command", po::value<std::string>())("arguments", po::value<std::vector<std::string>>());
  po::positional_options_description positions;
  positions.add("command", 1).add("arguments", -1);
  const po::parsed_options parsed =
      po::command_line_parser(argc, argv).options(first_pass).positional(positions).allow_unregistered().run();
  po::variables_map first;
  po::store(parsed, first);
  if (!first.count("command")) {
    PrintUsage(first.count("help") ? std::cout : std::cerr, commands);
    return first.count("help") ? kOk : kUsage;
  }
  const std::string name = first["command"].as<std::string>();
  if (name == "completion") {
    PrintBashCompletion(std::cout, commands);
    return kOk;
  }
  const auto command = std::find_if(commands.begin(), commands.end(), [&](const Command& c) { return c.name == name; });
  if (command == commands.end()) throw CommandError(kUsage, "no command " + name + " (stegoctl --help lists them)");

  // The second pass knows the command's options too, wherever the global ones stand.
  po::options_description all = GlobalOptions();
  all.add(OptionsOf(*command));
  po::options_description with_arguments = all;
  with_arguments.add_options()("arguments", po::value<std::vector<std::string>>());
  po::positional_options_description rest;
  rest.add("arguments", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(TokensWithoutCommand(parsed)).options(with_arguments).positional(rest).run(), vm);
  if (vm.count("help")) {
    std::cout << "Usage: stegoctl " << command->name << " " << command->usage << "\n\n" << command->summary << "\n\n"
              << OptionsOf(*command) << "\n" << GlobalOptions();
    return kOk;
  }
  LayerEnvironmentAndConfigFile(GlobalOptions(), vm);
  po::notify(vm);
  Context ctx(vm, SettingsFrom(vm), std::cout);
  return command->run(ctx);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const CommandError& e) {
    std::cerr << "stegoctl: " << e.what() << "\n";
    return e.code();
  } catch (const po::error& e) {
    std::cerr << "stegoctl: " << e.what() << " (stegoctl --help)\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "stegoctl: " << e.what() << "\n";
    return kFailure;
  }
}
