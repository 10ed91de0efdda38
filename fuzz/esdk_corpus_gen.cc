// esdk_corpus_gen OUT_DIR: writes the ESDK decrypt fuzzer's seed inputs
// (fuzz/esdk_fuzz_seeds.h) into OUT_DIR.
#include "fuzz/corpus_main.h"
#include "fuzz/esdk_fuzz_seeds.h"

int main(int argc, char** argv) {
  return veil::fuzz::CorpusMain(argc, argv, "esdk_corpus_gen", veil::fuzz::MakeSeeds);
}
