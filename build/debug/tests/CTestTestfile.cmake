# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/debug/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
subdirs("common")
subdirs("event")
subdirs("condition")
subdirs("template")
subdirs("config")
subdirs("matcher")
subdirs("executor")
subdirs("metrics")
subdirs("cli")
