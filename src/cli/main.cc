#include "cli/app.h"

int main(int argc, char** argv) { return migctl::RunCli(argc, argv); }
