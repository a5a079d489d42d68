"""Plain audio functions on numpy arrays: samples are float32 `[channels, frames]`,
and the sample rate is always passed explicitly."""
