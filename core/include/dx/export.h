#pragma once
// Symbols a plugin exports explicitly; plugins are built with -fvisibility=hidden.
#define DX_EXPORT __attribute__((visibility("default")))
