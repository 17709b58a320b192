/**
 * Readers of the source formats `poai dataset build` accepts: CSV (features and a label column),
 * IDX (the MNIST family format) and NumPy `.npy`. Each returns plain numbers; quantisation and the
 * split happen in build.ts. Every error is a `DatasetSourceError` naming the file, where in it, and
 * the value.
 */

/** Thrown for a source file that cannot be read as the format says. */
export class DatasetSourceError extends Error {
  override readonly name = "DatasetSourceError";
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** What a source value was, recorded in the manifest's quantisation. */
export type SourceKind = "float" | "uint8" | "int8" | "integer";

/** A numeric array read from a file: `rows` rows of `width` values, row-major. */
export interface NumericArray {
  readonly rows: number;
  readonly width: number;
  /** Trailing dimensions of one row (`[28, 28]` for MNIST images; `[width]` for flat rows). */
  readonly shape: readonly number[];
  readonly values: Float64Array;
  readonly kind: SourceKind;
}

// ---------------------------------------------------------------------------------------------
// CSV

/** Splits CSV text into records (RFC 4180: quoted fields, doubled quotes, CRLF or LF). */
export function parseCsvRecords(text: string, file: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  let line = 1;
  const endField = () => {
    record.push(field);
    field = "";
  };
  const endRecord = () => {
    endField();
    if (!(record.length === 1 && record[0].trim() === "")) records.push(record);
    record = [];
  };
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      if (ch === "\n") line++;
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === "") {
      quoted = true;
      i++;
    } else if (ch === ",") {
      endField();
      i++;
    } else if (ch === "\n" || ch === "\r") {
      endRecord();
      if (ch === "\r" && text[i + 1] === "\n") i++;
      i++;
      line++;
    } else {
      field += ch;
      i++;
    }
  }
  if (quoted) throw new DatasetSourceError(file, `unterminated quoted field at line ${line}`);
  if (field !== "" || record.length > 0) endRecord();
  return records;
}

function isNumber(text: string): boolean {
  const t = text.trim();
  return t !== "" && Number.isFinite(Number(t));
}

/** Options of {@link readCsv}. */
export interface CsvOptions {
  /** The label column: a header name, or an index (negative counts from the end); default the last. */
  readonly label?: string | number;
  /** Whether the first record is a header; default: when any of its feature cells is not a number. */
  readonly header?: boolean;
}

/** A CSV file as features (numbers) and raw label strings. */
export function readCsv(
  text: string,
  file: string,
  options: CsvOptions = {},
): { features: NumericArray; labels: string[]; columns?: string[] } {
  const records = parseCsvRecords(text, file);
  if (records.length === 0) throw new DatasetSourceError(file, "no records");
  const width = records[0].length;
  if (width < 2)
    throw new DatasetSourceError(
      file,
      `a record needs at least two columns (features and a label), got ${width}`,
    );
  let labelIndex: number;
  const first = records[0];
  let header = options.header;
  const resolveLabel = (columns?: string[]): number => {
    const l = options.label;
    if (l === undefined) return width - 1;
    if (typeof l === "number" || /^-?\d+$/.test(l)) {
      const n = Number(l);
      const idx = n < 0 ? width + n : n;
      if (idx < 0 || idx >= width)
        throw new DatasetSourceError(file, `label column ${l} is outside the ${width} columns`);
      return idx;
    }
    const idx = columns?.indexOf(l) ?? -1;
    if (idx < 0)
      throw new DatasetSourceError(
        file,
        `no column named ${JSON.stringify(l)} (columns: ${(columns ?? []).join(", ") || "no header"})`,
      );
    return idx;
  };
  if (header === undefined) {
    const guess = typeof options.label === "string" && !/^-?\d+$/.test(options.label) ? -1 : resolveLabel();
    header = first.some((cell, c) => c !== guess && !isNumber(cell));
  }
  const columns = header ? first.map((c) => c.trim()) : undefined;
  labelIndex = resolveLabel(columns);
  const body = header ? records.slice(1) : records;
  if (body.length === 0) throw new DatasetSourceError(file, "no examples after the header");
  const features = width - 1;
  const values = new Float64Array(body.length * features);
  const labels: string[] = [];
  body.forEach((rec, r) => {
    const line = r + (header ? 2 : 1);
    if (rec.length !== width)
      throw new DatasetSourceError(file, `line ${line} has ${rec.length} columns, expected ${width}`);
    let f = 0;
    rec.forEach((cell, c) => {
      if (c === labelIndex) return;
      const v = Number(cell.trim());
      if (cell.trim() === "" || !Number.isFinite(v)) {
        const name = columns ? ` (${columns[c]})` : "";
        throw new DatasetSourceError(
          file,
          `line ${line}, column ${c + 1}${name}: ${JSON.stringify(cell)} is not a number`,
        );
      }
      values[r * features + f++] = v;
    });
    const label = rec[labelIndex].trim();
    if (label === "") throw new DatasetSourceError(file, `line ${line}: empty label`);
    labels.push(label);
  });
  if (columns) labelIndex = labelIndex + 0;
  return {
    features: { rows: body.length, width: features, shape: [features], values, kind: "float" },
    labels,
    ...(columns && { columns: columns.filter((_, c) => c !== labelIndex) }),
  };
}

// ---------------------------------------------------------------------------------------------
// IDX

const IDX_TYPES: Record<
  number,
  { bytes: number; kind: SourceKind; read: (v: DataView, at: number) => number }
> = {
  0x08: { bytes: 1, kind: "uint8", read: (v, at) => v.getUint8(at) },
  0x09: { bytes: 1, kind: "int8", read: (v, at) => v.getInt8(at) },
  0x0b: { bytes: 2, kind: "integer", read: (v, at) => v.getInt16(at, false) },
  0x0c: { bytes: 4, kind: "integer", read: (v, at) => v.getInt32(at, false) },
  0x0d: { bytes: 4, kind: "float", read: (v, at) => v.getFloat32(at, false) },
  0x0e: { bytes: 8, kind: "float", read: (v, at) => v.getFloat64(at, false) },
};

/** An IDX file (magic 0, 0, type, dimension count; big-endian uint32 dimensions; big-endian data). */
export function readIdx(bytes: Uint8Array, file: string): NumericArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DatasetSourceError(
      file,
      "not an IDX file (it must start with two zero bytes, a type byte and a dimension count)",
    );
  }
  const type = IDX_TYPES[bytes[2]];
  if (!type) throw new DatasetSourceError(file, `unknown IDX data type 0x${bytes[2].toString(16)}`);
  const dims = bytes[3];
  if (dims < 1) throw new DatasetSourceError(file, "an IDX file needs at least one dimension");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * dims) throw new DatasetSourceError(file, "truncated IDX header");
  const shape: number[] = [];
  for (let d = 0; d < dims; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const rows = shape[0];
  const width = shape.slice(1).reduce((a, b) => a * b, 1);
  const start = 4 + 4 * dims;
  const expected = start + rows * width * type.bytes;
  if (bytes.length !== expected) {
    throw new DatasetSourceError(
      file,
      `IDX dimensions [${shape.join(", ")}] need ${expected} bytes, the file has ${bytes.length}`,
    );
  }
  let values: Float64Array;
  if (bytes[2] === 0x08) values = Float64Array.from(bytes.subarray(start, expected));
  else if (bytes[2] === 0x09)
    values = Float64Array.from(new Int8Array(bytes.buffer, bytes.byteOffset + start, rows * width));
  else {
    values = new Float64Array(rows * width);
    for (let k = 0; k < values.length; k++) values[k] = type.read(view, start + k * type.bytes);
  }
  return { rows, width, shape: dims > 1 ? shape.slice(1) : [1], values, kind: type.kind };
}

// ---------------------------------------------------------------------------------------------
// NumPy .npy

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** A `.npy` file: a C-order array of bool, (u)int8..64 or float32/64, either byte order. */
export function readNpy(bytes: Uint8Array, file: string): NumericArray {
  if (bytes.length < 10 || NPY_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new DatasetSourceError(file, "not a .npy file (magic \\x93NUMPY missing)");
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder("latin1").decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined)
    throw new DatasetSourceError(file, `unreadable .npy header ${JSON.stringify(header.trim())}`);
  if (fortran === "True")
    throw new DatasetSourceError(
      file,
      "Fortran-order arrays are not supported: save it with np.ascontiguousarray",
    );
  const shape = shapeText
    .split(",")
    .map((d) => d.trim())
    .filter((d) => d !== "")
    .map(Number);
  if (shape.length === 0) throw new DatasetSourceError(file, "a scalar .npy holds no examples");
  const m = /^([<>|=])([biuf])(\d+)$/.exec(descr);
  if (!m) throw new DatasetSourceError(file, `unsupported dtype ${descr} (bool, int, uint or float only)`);
  const little = m[1] !== ">";
  const [code, size] = [m[2], Number(m[3])];
  const readers: Record<string, (at: number) => number> = {
    b1: (at) => view.getUint8(at),
    u1: (at) => view.getUint8(at),
    i1: (at) => view.getInt8(at),
    u2: (at) => view.getUint16(at, little),
    i2: (at) => view.getInt16(at, little),
    u4: (at) => view.getUint32(at, little),
    i4: (at) => view.getInt32(at, little),
    u8: (at) => Number(view.getBigUint64(at, little)),
    i8: (at) => Number(view.getBigInt64(at, little)),
    f4: (at) => view.getFloat32(at, little),
    f8: (at) => view.getFloat64(at, little),
  };
  const read = readers[`${code}${size}`];
  if (!read) throw new DatasetSourceError(file, `unsupported dtype ${descr}`);
  const kind: SourceKind =
    code === "f"
      ? "float"
      : code === "u" && size === 1
        ? "uint8"
        : code === "i" && size === 1
          ? "int8"
          : "integer";
  const rows = shape[0];
  const width = shape.slice(1).reduce((a, b) => a * b, 1);
  const start = headerStart + headerLength;
  const expected = start + rows * width * size;
  if (bytes.length !== expected) {
    throw new DatasetSourceError(
      file,
      `shape (${shape.join(", ")}) of ${descr} needs ${expected} bytes, the file has ${bytes.length}`,
    );
  }
  const values = new Float64Array(rows * width);
  for (let k = 0; k < values.length; k++) values[k] = read(start + k * size);
  return { rows, width, shape: shape.length > 1 ? shape.slice(1) : [1], values, kind };
}

/** Writes a C-order little-endian `.npy` file (version 1.0) of `|u1`, `|i1`, `<i4` or `<f8` values. */
export function writeNpy(
  values: ArrayLike<number>,
  shape: readonly number[],
  dtype: "|u1" | "|i1" | "<i4" | "<f8",
): Uint8Array {
  const size = dtype === "<f8" ? 8 : dtype === "<i4" ? 4 : 1;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + values.length * size);
  out.set(NPY_MAGIC);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const start = 10 + header.length;
  for (let k = 0; k < values.length; k++) {
    const at = start + k * size;
    if (dtype === "<f8") view.setFloat64(at, values[k], true);
    else if (dtype === "<i4") view.setInt32(at, values[k], true);
    else if (dtype === "|i1") view.setInt8(at, values[k]);
    else view.setUint8(at, values[k]);
  }
  return out;
}

/** Writes an IDX file of unsigned bytes with the given dimensions. */
export function writeIdxUint8(values: ArrayLike<number>, shape: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + values.length);
  out[2] = 0x08;
  out[3] = shape.length;
  const view = new DataView(out.buffer);
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let k = 0; k < values.length; k++) out[4 + 4 * shape.length + k] = values[k];
  return out;
}
