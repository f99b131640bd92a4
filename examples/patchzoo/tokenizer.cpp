// `patchzoo tokenizer train|eval|encode|decode`: the VQ image tokenizer on Fashion-MNIST. Images are
// padded 28 -> 32 (--grid 16) or bicubic-resized 28 -> 48 (--grid 24) and downsampled x2 by the encoder.
// Everything lives in one directory (--out): checkpoint (codebook state included), loss.csv, loss.png, token files.
// With --vq, encode and decode use LlamaGen's VQ-16 (converted by scripts/convert-llamagen) on a directory of
// JPEG / PNG photographs prepared as LlamaGen prepares ImageNet (data/image_folder.hpp):
//   patchzoo tokenizer encode --vq vq16.safetensors --image-dir imagenet/val --tokens val.pztok
//   patchzoo tokenizer decode --vq vq16.safetensors --tokens val.pztok --png val.png
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "patchzoo/backend/eigen/eigen_backend.hpp"
#include "patchzoo/backend/xtensor/xtensor_backend.hpp"
#include "patchzoo/data/fashion_mnist.hpp"
#include "patchzoo/data/image_folder.hpp"
#include "patchzoo/image/grid.hpp"
#include "patchzoo/image/png.hpp"
#include "patchzoo/io/atomic_file.hpp"
#include "patchzoo/pipeline/tokenizer_step.hpp"
#include "patchzoo/util/progress.hpp"
#include "patchzoo/util/report.hpp"
#include "patchzoo/data/token_file.hpp"
#include "patchzoo/vq/vq16_import.hpp"
#include "patchzoo/vq/vq_metrics.hpp"
#include "backend_choice.hpp"
#include "distributed.hpp"
#include "subcommands.hpp"

namespace {

using namespace patchzoo;
namespace fs = std::filesystem;

struct tokenizer_options {
  std::string backend = "eigen";
  std::string data = data::fashion_mnist_default_dir.string();
  int grid = 16;
  std::string out = "tokenizer-run";
  bool json = false;
  std::uint64_t seed = 1;
  // train
  vq::vq_config model;
  std::string mode = "loss";
  std::int64_t steps = 2000, batch = 64, train_images = 0, checkpoint_every = 500, warmup = 100;
  double lr = 2e-3;
  // eval / encode / decode
  std::string split = "test";
  std::int64_t images = 0;  // 0: the whole split
  std::string tokens, png;
  // encode / decode with LlamaGen's VQ-16
  std::string vq, image_dir;
  std::int64_t size = 256, code_batch = 8;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

data::image_dataset load_split(const tokenizer_options& o, const std::string& split, std::int64_t limit) {
  return pipeline::load_tokenizer_images(o.data, split, limit, o.grid);
}

template <class B>
void run_train(const tokenizer_options& o) {
  B be;
  pipeline::tokenizer_train_config cfg;
  cfg.grid = o.grid;
  cfg.model = o.model;
  cfg.model.mode = vq::parse_mode(o.mode);
  cfg.train.steps = o.steps;
  cfg.train.batch = o.batch;
  cfg.train.lr = o.lr;
  cfg.train.warmup = o.warmup;
  cfg.train.checkpoint_every = o.checkpoint_every;
  cfg.train.seed = o.seed;
  cfg.train.out_dir = o.out;
  cfg.train.comm = &cli::job_communicator();  // data-parallel under mpirun / srun
  const auto ds = load_split(o, "train", o.train_images);
  progress bar("train", o.steps);
  pipeline::tokenizer_hooks hooks;
  hooks.on_start = [&](std::int64_t resumed, std::int64_t parameters) {
    std::cerr << "tokenizer: " << parameters << " parameters, " << ds.size() << " training images " << ds.rows << "x"
              << ds.cols << " -> " << o.grid << "x" << o.grid << " tokens, codebook " << cfg.model.codebook_size
              << " x " << cfg.model.code_dim << " (" << o.mode << "), backend " << B::name;
    if (resumed > 0) std::cerr << ", resumed at step " << resumed;
    std::cerr << "\n";
    bar.update(resumed);
  };
  hooks.on_step = [&](const vq::vq_step_log& s) {
    char extra[96];
    std::snprintf(extra, sizeof extra, "mse %.4f vq %.4f ppl %.0f", s.recon_mse, s.quantizer_loss, s.perplexity);
    bar.update(s.step, extra);
  };
  const auto t = pipeline::train_tokenizer(be, ds, cfg, hooks);
  bar.finish();

  report r;
  r["backend"] = std::string(B::name);
  r["parameters"] = t.parameters;
  r["steps"] = t.steps;
  r["resumed_at"] = t.resumed_at;
  r["batch"] = o.batch;
  r["train_images"] = t.images;
  r["final_recon_mse"] = t.last.recon_mse;
  r["final_codebook_loss"] = t.last.quantizer_loss;
  r["batch_perplexity"] = t.last.perplexity;
  r["batch_codebook_usage"] = t.last.usage;
  r["seconds"] = t.seconds;
  r["images_per_second"] = t.images_per_second;
  r["checkpoint"] = t.checkpoint.string();
  r["loss_csv"] = t.loss_csv.string();
  r["loss_png"] = t.loss_png.string();
  r.emit(o.json);
}

template <class B>
void run_eval(tokenizer_options o) {
  B be;
  o.grid = pipeline::tokenizer_grid(o.out);
  auto model = vq::load_tokenizer(be, o.out);
  const auto ds = load_split(o, o.split, o.images);
  progress bar("eval", ds.size(), {.unit = "img"});
  const auto start = std::chrono::steady_clock::now();
  const auto e = vq::evaluate_tokenizer(be, *model, ds, 256, [&](std::int64_t done) { bar.update(done); });
  bar.finish();
  report r;
  r["split"] = o.split;
  r["images"] = e.images;
  r["psnr"] = e.psnr;
  r["mse"] = e.mse;
  r["codebook_usage"] = e.codebook_usage;
  r["perplexity"] = e.perplexity;
  r["tokens_per_image"] = e.tokens_per_image;
  r["codebook_size"] = model->config().codebook_size;
  r["seconds"] = seconds_since(start);
  r.emit(o.json);
}

template <class B>
void run_encode(tokenizer_options o) {
  B be;
  o.grid = pipeline::tokenizer_grid(o.out);
  auto model = vq::load_tokenizer(be, o.out);
  const auto ds = load_split(o, o.split, o.images);
  progress bar("encode", ds.size(), {.unit = "img"});
  const auto start = std::chrono::steady_clock::now();
  const auto f = pipeline::encode_images(be, *model, ds, [&](std::int64_t done) { bar.update(done); });
  bar.finish();
  const fs::path path = o.tokens.empty() ? fs::path(o.out) / (o.split + ".pztok") : fs::path(o.tokens);
  data::write_token_file(path, f);
  report r;
  r["split"] = o.split;
  r["images"] = f.count();
  r["grid"] = o.grid;
  r["tokens_per_image"] = f.tokens_per_image();
  r["codebook_size"] = f.codebook_size;
  r["tokens_file"] = path.string();
  r["seconds"] = seconds_since(start);
  r.emit(o.json);
}

// Originals (odd rows) above their reconstructions (even rows), 8 per row. With --tokens the
// reconstructions are decoded from that file (encoded from the same split, in order).
template <class B>
void run_decode(tokenizer_options o) {
  B be;
  o.grid = pipeline::tokenizer_grid(o.out);
  auto model = vq::load_tokenizer(be, o.out);
  const std::int64_t count = o.images > 0 ? o.images : 16;
  const auto ds = load_split(o, o.split, count);
  std::vector<std::int64_t> indices(static_cast<std::size_t>(ds.size()));
  std::iota(indices.begin(), indices.end(), 0);
  const auto batch = data::make_batch(ds, indices, data::pixel_range::minus_one_one);
  // Encoded now (in batches, as `tokenizer encode` does) or read from --tokens, then decoded in batches.
  data::token_file f;
  if (o.tokens.empty()) {
    f = pipeline::encode_images(be, *model, ds);
  } else {
    f = data::read_token_file(o.tokens);
    check(f.grid_h == o.grid && f.grid_w == o.grid && f.codebook_size == model->config().codebook_size &&
              f.count() >= ds.size(),
          "tokenizer decode", o.tokens, " holds ", f.count(), " grids of ", f.grid_h, "x", f.grid_w, " over ",
          f.codebook_size, " codes; the checkpoint needs ", ds.size(), " grids of ", o.grid, "x", o.grid, " over ",
          model->config().codebook_size);
  }
  const auto recon = pipeline::decode_tokens(be, *model, pipeline::token_rows_of(f, ds.size()), o.grid, o.grid);
  const fs::path path = o.png.empty() ? fs::path(o.out) / "reconstructions.png" : fs::path(o.png);
  image::write_png(path, pipeline::reconstruction_grid(batch.images, recon, 8));
  report r;
  r["images"] = ds.size();
  r["source"] = o.tokens.empty() ? std::string("encoded now") : o.tokens;
  r["png"] = path.string();
  r.emit(o.json);
}


// Token grids [N, h, w] of a token file's images [begin, end), as the decoder takes them.
tensor<std::int32_t> codes_of(const data::token_file& f, std::int64_t begin, std::int64_t end) {
  tensor<std::int32_t> codes(shape_t{end - begin, f.grid_h, f.grid_w});
  std::copy(f.image(begin), f.image(end), codes.data());
  return codes;
}

void check_image_dir_needs_vq(const tokenizer_options& o, const char* command) {
  check(o.image_dir.empty() || !o.vq.empty(), command, "--image-dir needs --vq: the Fashion-MNIST tokenizer of --out ",
        "reads its own data set");
}

// Class names in label order, one per line, beside a token file (token files hold labels only).
void write_class_names(const fs::path& path, const std::vector<std::string>& classes) {
  std::string text;
  for (const auto& c : classes) text += c + "\n";
  write_file_atomically(path, [&](file_sink& sink) { sink.write(text.data(), text.size()); });
}

template <class B>
void run_encode_vq(const tokenizer_options& o) {
  B be;
  const char* op = "tokenizer encode";
  check(!o.image_dir.empty(), op, "--vq needs --image-dir: a directory of JPEG / PNG images to encode");
  check(!o.tokens.empty(), op, "--vq needs --tokens: the token file to write");
  auto model = vq::load_llamagen_vq(be, o.vq);
  const std::int64_t down = model->config().downsample();
  check(o.size % down == 0, op, "--size ", o.size, " is not a multiple of the tokenizer's downsampling ", down);
  const auto folder = data::list_image_folder(o.image_dir);
  const std::int64_t count = o.images > 0 ? std::min(o.images, folder.size()) : folder.size();
  data::token_file f;
  f.codebook_size = model->config().codebook_size;
  f.grid_h = f.grid_w = o.size / down;
  f.tokens.reserve(static_cast<std::size_t>(count * f.tokens_per_image()));
  progress bar("encode", count, {.unit = "img"});
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t begin = 0; begin < count; begin += o.code_batch) {
    const std::int64_t end = std::min(count, begin + o.code_batch);
    const auto codes = model->encode(be, data::load_image_batch(folder, begin, end, o.size));
    f.tokens.insert(f.tokens.end(), codes.data(), codes.data() + codes.numel());
    for (std::int64_t i = begin; i < end; ++i) f.labels.push_back(static_cast<std::uint16_t>(folder.labels[static_cast<std::size_t>(i)]));
    bar.update(end);
  }
  bar.finish();
  data::write_token_file(o.tokens, f);
  const fs::path classes_path = o.tokens + ".classes.txt";
  write_class_names(classes_path, folder.classes);
  const double seconds = seconds_since(start);
  report r;
  r["backend"] = std::string(B::name);
  r["image_dir"] = o.image_dir;
  r["images"] = count;
  r["classes"] = static_cast<std::int64_t>(folder.classes.size());
  r["skipped_files"] = folder.skipped;
  r["image_size"] = o.size;
  r["grid"] = std::to_string(f.grid_h) + "x" + std::to_string(f.grid_w);
  r["codebook_size"] = f.codebook_size;
  r["tokens_file"] = o.tokens;
  r["class_names"] = classes_path.string();
  r["seconds"] = seconds;
  r["images_per_second"] = static_cast<double>(count) / seconds;
  r.emit(o.json);
}

// A grid of the images a token file decodes to, 8 per row.
template <class B>
void run_decode_vq(const tokenizer_options& o) {
  B be;
  const char* op = "tokenizer decode";
  check(!o.tokens.empty(), op, "--vq needs --tokens: the token file to decode");
  auto model = vq::load_llamagen_vq(be, o.vq);
  const auto f = data::read_token_file(o.tokens);
  check(f.codebook_size <= model->config().codebook_size, op, o.tokens, " holds codes of a ", f.codebook_size,
        "-code tokenizer; ", o.vq, " has ", model->config().codebook_size);
  const std::int64_t n = std::min(o.images > 0 ? o.images : 16, f.count());
  check(n > 0, op, o.tokens, " holds no images");
  std::vector<tensor<float>> parts;
  for (std::int64_t begin = 0; begin < n; begin += o.code_batch)
    parts.push_back(model->decode(be, codes_of(f, begin, std::min(n, begin + o.code_batch))));
  const std::int64_t h = parts.front().dim(2), w = parts.front().dim(3);
  tensor<float> images(shape_t{n, 3, h, w});
  std::int64_t at = 0;
  for (const auto& p : parts) {
    std::copy(p.data(), p.data() + p.numel(), images.data() + at);
    at += p.numel();
  }
  image::grid_options g;
  g.cols = std::min<std::int64_t>(n, 8);
  g.rows = (n + g.cols - 1) / g.cols;
  g.scale = std::max<std::int64_t>(1, 128 / h);
  g.lo = -1.0;
  g.hi = 1.0;
  const fs::path png = o.png.empty() ? fs::path(o.tokens).replace_extension(".png") : fs::path(o.png);
  image::write_png(png, image::image_grid(images.cview(), g));
  report r;
  r["backend"] = std::string(B::name);
  r["images"] = n;
  r["image_size"] = std::to_string(h) + "x" + std::to_string(w);
  r["png"] = png.string();
  r.emit(o.json);
}

void add_common(CLI::App* cmd, tokenizer_options& o) {
  add_backend_option(cmd, o.backend);
  cmd->add_option("--data", o.data, "Fashion-MNIST directory (IDX .gz files)");
  cmd->add_option("--out", o.out, "run directory: checkpoint, logs, token files");
  cmd->add_flag("--json", o.json, "print one JSON object on stdout");
}

void add_split(CLI::App* cmd, tokenizer_options& o, const char* what) {
  cmd->add_option("--split", o.split, "train or test")->check(CLI::IsMember({"train", "test"}));
  cmd->add_option("--images", o.images, what)->check(CLI::NonNegativeNumber);
}

void add_vq16(CLI::App* cmd, tokenizer_options& o) {
  cmd->add_option("--vq", o.vq, "LlamaGen VQ tokenizer converted by scripts/convert-llamagen (instead of --out's)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--batch", o.code_batch, "with --vq: images per encoder / decoder pass")->check(CLI::PositiveNumber);
}

}  // namespace

void register_tokenizer(CLI::App& app) {
  auto o = std::make_shared<tokenizer_options>();
  auto* tok = app.add_subcommand("tokenizer", "VQ image tokenizer: train, evaluate, encode to token files, decode");
  tok->require_subcommand(1);

  auto* train = tok->add_subcommand("train", "Train (or resume, if --out holds a checkpoint) on the training split");
  add_common(train, *o);
  train->add_option("--grid", o->grid, "token grid: 16 (images padded to 32x32) or 24 (bicubic 48x48)")
      ->check(CLI::IsMember({16, 24}));
  train->add_option("--steps", o->steps, "total training steps")->check(CLI::PositiveNumber);
  train->add_option("--batch", o->batch, "images per step")->check(CLI::PositiveNumber);
  train->add_option("--train-images", o->train_images, "use the first N training images (0: all 60000)")
      ->check(CLI::NonNegativeNumber);
  train->add_option("--lr", o->lr, "peak learning rate (warmup + cosine to 10%)")->check(CLI::PositiveNumber);
  train->add_option("--warmup", o->warmup, "warmup steps")->check(CLI::NonNegativeNumber);
  train->add_option("--checkpoint-every", o->checkpoint_every, "steps between checkpoints (0: only at the end)")
      ->check(CLI::NonNegativeNumber);
  train->add_option("--seed", o->seed, "seed for weights, data order and code restarts");
  train->add_option("--codebook-size", o->model.codebook_size, "number of codes")->check(CLI::Range(2, 65536));
  train->add_option("--code-dim", o->model.code_dim, "code dimension")->check(CLI::PositiveNumber);
  train->add_option("--hidden", o->model.hidden, "conv channels")->check(CLI::PositiveNumber);
  train->add_option("--mode", o->mode, "codebook training: loss (codebook + commitment) or ema")
      ->check(CLI::IsMember({"loss", "ema"}));
  train->add_option("--beta", o->model.beta, "commitment weight")->check(CLI::NonNegativeNumber);
  train->add_option("--dead-code-steps", o->model.dead_code_steps, "restart codes unused this many steps (0: never)")
      ->check(CLI::NonNegativeNumber);
  train->callback([o] { with_cpu_backend(o->backend, [&]<class B>() { run_train<B>(*o); }); });

  auto* eval = tok->add_subcommand("eval", "PSNR, MSE, codebook usage and perplexity of a trained tokenizer");
  add_common(eval, *o);
  add_split(eval, *o, "evaluate the first N images (0: the whole split)");
  eval->callback([o] { with_cpu_backend(o->backend, [&]<class B>() { run_eval<B>(*o); }); });

  auto* encode = tok->add_subcommand("encode", "Encode a split to a token file (PZTOKENS format)");
  add_common(encode, *o);
  add_split(encode, *o, "encode the first N images (0: the whole split)");
  encode->add_option("--tokens", o->tokens, "output token file (default <out>/<split>.pztok)");
  add_vq16(encode, *o);
  encode->add_option("--image-dir", o->image_dir, "with --vq: JPEG / PNG images, one subdirectory per class (or none)")
      ->check(CLI::ExistingDirectory);
  encode->add_option("--size", o->size, "with --vq: images are resized and centre-cropped to this square (LlamaGen: 256)")
      ->check(CLI::PositiveNumber);
  encode->callback([o] {
    check_image_dir_needs_vq(*o, "tokenizer encode");
    with_cpu_backend(o->backend, [&]<class B>() { o->vq.empty() ? run_encode<B>(*o) : run_encode_vq<B>(*o); });
  });

  auto* decode = tok->add_subcommand("decode", "PNG grid of originals above their reconstructions");
  add_common(decode, *o);
  add_split(decode, *o, "number of images shown (default 16)");
  decode->add_option("--tokens", o->tokens, "decode these tokens (encoded from the same split) instead of encoding now");
  decode->add_option("--png", o->png, "output PNG (default <out>/reconstructions.png; with --vq <tokens>.png)");
  add_vq16(decode, *o);
  decode->callback([o] {
    with_cpu_backend(o->backend, [&]<class B>() { o->vq.empty() ? run_decode<B>(*o) : run_decode_vq<B>(*o); });
  });
}
