// kms_server_fuzzer_corpus_gen OUT_DIR: writes kms_server_fuzzer's seeds
// into OUT_DIR (scripts/run-fuzzers looks it up by the fuzzer's name).
#include "fuzz/corpus_main.h"
#include "fuzz/kms_server_fuzzer.h"

int main(int argc, char** argv) {
  return veil::fuzz::CorpusMain(argc, argv, "kms_server_fuzzer_corpus_gen",
                                veil::fuzz::KmsServerSeeds);
}
