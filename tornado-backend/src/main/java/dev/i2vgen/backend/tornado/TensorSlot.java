package dev.i2vgen.backend.tornado;

import uk.ac.manchester.tornado.api.types.arrays.FloatArray;

/** Where a tensor lives: an array (the activation arena, an input's staging array or a weight's own) and its first element. */
record TensorSlot(FloatArray array, int offset) {}
