// The fuzzer at 20x its default runs (6,000 per parser, 60,000+ inputs) and 3,000-level YAML nesting.
// Import order matters: the settings are read when fuzz.test.ts is evaluated.
import './stress-env.js';
import './fuzz.test.js';
