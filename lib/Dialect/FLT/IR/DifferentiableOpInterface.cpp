//===- DifferentiableOpInterface.cpp - reverse-mode rules -----------------===//

#include "flt/Dialect/FLT/IR/DifferentiableOpInterface.h"

#include "flt/Dialect/FLT/IR/DifferentiableOpInterface.cpp.inc"
