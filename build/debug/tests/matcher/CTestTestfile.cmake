# CMake generated Testfile for 
# Source directory: /work/main/tests/matcher
# Build directory: /work/main/build/debug/tests/matcher
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
