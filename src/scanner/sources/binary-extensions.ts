/**
 * Extensions that are never text. Skipping them by name saves reading them; anything else is read and checked
 * for NUL bytes, so text formats (.ipynb, .env, .tf, Dockerfile, ...) are always scanned whatever their name.
 * Archives the scanner opens (zip, jar, war, ear, gz, tgz, tar) are not listed: their members are scanned.
 * A module of its own so `scan --staged` can use it without loading the directory walk.
 */
const BINARY_EXTENSIONS = new Set(
  (
    'png jpg jpeg gif bmp ico webp tiff psd avif heic mp3 mp4 m4a wav ogg flac mov avi mkv webm bz2 xz 7z ' +
    'rar class so dylib dll exe bin o a lib obj pdf woff woff2 ttf otf eot wasm pyc pyo sqlite db ' +
    'parquet feather npy npz pt pth onnx safetensors h5 ckpt pkl'
  ).split(' '),
);

export function hasBinaryExtension(file: string): boolean {
  const dot = file.lastIndexOf('.');
  return dot !== -1 && BINARY_EXTENSIONS.has(file.slice(dot + 1).toLowerCase());
}
