package dumptest
