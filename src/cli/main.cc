// fraiseql-observer: entry point. All behaviour lives in cli/ and the folders it wires.
#include <iostream>

#include "cli/cli.h"

int main(int argc, char** argv) { return fraiseql::cli::RunCli(argc, argv, std::cout, std::cerr); }
