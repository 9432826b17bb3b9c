# CMake generated Testfile for 
# Source directory: /work/main/tests/executor
# Build directory: /work/main/build/debug/tests/executor
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
