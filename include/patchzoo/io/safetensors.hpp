#pragma once
// Checkpoints in the safetensors format: safetensors_writer (atomic save) and safetensors_reader
// (validated, all-or-nothing load).
#include "patchzoo/io/safetensors_reader.hpp"
#include "patchzoo/io/safetensors_writer.hpp"
