// The stego engine: hides a payload in the low bits of an image's colour channels and gets it back.
// This is the header callers include. Pure: bytes and pixels in, bytes and pixels out; no I/O, no
// logging, no global state besides the PNG writer's thread pool (parallel.h).
//
// An embed request runs, cheapest refusal first (RunEmbed, pipeline.h):
//   CheckLossless(format)          the output can keep the bits                (codec.h)
//   ProbeImage(file)               format and size from the header             (probe.h)
//   CheckLimits(info, limits)      pixel count, before any allocation          (codec.h)
//   Pack(data, options)            record + deflate when smaller               (payload.h)
//   CheckCapacity(packed, dims)    exact fit, before decoding                  (capacity.h)
//   DecodeImage(file, limits)      pixels                                      (codec.h)
//   Embed(cover, packed)           key derivation, encryption, the bits        (embed.h)
//   EncodeImage(cover, format)     a lossless file                             (codec.h)
// or, for a cover shared by many requests (the worker's default cover), EmbedRows and
// EncodeImage(template, rows, format), which leave the cover untouched and copy only the rows the
// payload reaches;
// and an extract request (RunExtract): DecodeImage, then Extract.
#pragma once

#include "worker/stego/capacity.h"
#include "worker/stego/codec.h"
#include "worker/stego/embed.h"
#include "worker/stego/error.h"
#include "worker/stego/image.h"
#include "worker/stego/lsb.h"  // kMinLsbBits, kMaxLsbBits: the depths EmbedOptions::lsb_bits may take
#include "worker/stego/payload.h"
#include "worker/stego/pipeline.h"
#include "worker/stego/probe.h"
#include "worker/stego/synthetic.h"
