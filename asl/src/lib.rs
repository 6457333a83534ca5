//! Amazon States Language interpreter.
