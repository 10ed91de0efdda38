// wire_corpus_gen OUT_DIR: writes the wire fuzzer's seed inputs
// (fuzz/wire_fuzz_seeds.h) into OUT_DIR.
#include "fuzz/corpus_main.h"
#include "fuzz/wire_fuzz_seeds.h"

int main(int argc, char** argv) {
  return veil::fuzz::CorpusMain(argc, argv, "wire_corpus_gen", veil::fuzz::MakeWireSeeds);
}
