// image_corpus_gen OUT_DIR: writes image_intake_fuzzer's seeds (small JPEG
// and PNG variants) into OUT_DIR (scripts/run-fuzzers finds it by the
// fuzzer's module name, "image").
#include "fuzz/corpus_main.h"
#include "fuzz/image_intake_fuzzer.h"

int main(int argc, char** argv) {
  return veil::fuzz::CorpusMain(argc, argv, "image_corpus_gen", veil::fuzz::ImageSeeds);
}
