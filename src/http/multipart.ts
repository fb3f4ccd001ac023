import type { Readable } from "node:stream";
import busboy from "busboy";
import type { Context } from "koa";
import { AppError, badRequest, payloadTooLarge } from "../errors.js";

/** The file passed `maxFileBytes`; its own code, so a form can word it for what it takes. */
export const fileTooLarge = (maxFileBytes: number) =>
  new AppError(413, "file_too_large", `That file is larger than ${Math.round(maxFileBytes / 1024 / 1024)} MB.`);

export type Upload = { fields: Record<string, string>; file?: { field: string; data: Buffer; mimeType: string } };

/**
 * Reads a multipart form with one file, refusing (413) as soon as the file passes `maxFileBytes`
 * so an oversized upload is never held in memory whole.
 */
export function readUpload(ctx: Context, maxFileBytes: number): Promise<Upload> {
  if (!ctx.is("multipart")) return Promise.reject(badRequest("not_multipart", "Send the form as multipart/form-data."));
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: ctx.req.headers,
        limits: { files: 1, fileSize: maxFileBytes, fields: 10, fieldSize: 2048, parts: 12 },
      });
    } catch {
      reject(badRequest("bad_multipart", "That upload could not be read."));
      return;
    }
    const upload: Upload = { fields: {} };
    let failed: AppError | undefined;
    const fail = (err: AppError) => {
      failed ??= err;
      ctx.req.unpipe(parser);
      ctx.req.resume();
      reject(err);
    };
    parser.on("field", (name, value) => (upload.fields[name] = value));
    parser.on("file", (field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("limit", () => fail(fileTooLarge(maxFileBytes)));
      stream.on("close", () => {
        if (!failed && chunks.length > 0) upload.file = { field, data: Buffer.concat(chunks), mimeType: info.mimeType };
      });
    });
    parser.on("filesLimit", () => fail(payloadTooLarge("Send one file at a time.")));
    parser.on("partsLimit", () => fail(payloadTooLarge("That form has too many parts.")));
    parser.on("error", () => fail(badRequest("bad_multipart", "That upload could not be read.")));
    parser.on("close", () => {
      if (!failed) resolve(upload);
    });
    ctx.req.pipe(parser);
  });
}

export type StreamedFile = { stream: Readable & { truncated?: boolean }; name: string; type: string };

/**
 * Reads a multipart request whose one part is a file, handing the file to `consume` as a stream
 * (never held whole): the upload flows at the pace `consume` reads it. Passing `maxFileBytes`
 * fails the stream with `fileTooLarge`, so `consume` stops and cleans up.
 */
export function streamUpload<T>(ctx: Context, maxFileBytes: number, consume: (file: StreamedFile) => Promise<T>): Promise<T> {
  if (!ctx.is("multipart")) return Promise.reject(badRequest("not_multipart", "Send the file as multipart/form-data."));
  return new Promise<T>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      // Browsers send file names in UTF-8; busboy reads them as Latin-1 unless told.
      parser = busboy({
        headers: ctx.req.headers,
        defParamCharset: "utf8",
        limits: { files: 1, fileSize: maxFileBytes, fields: 0, parts: 2 },
      });
    } catch {
      reject(badRequest("bad_multipart", "That upload could not be read."));
      return;
    }
    let file: Readable | undefined;
    const fail = (err: AppError) => {
      ctx.req.unpipe(parser);
      ctx.req.resume();
      reject(err);
    };
    parser.on("file", (_field, stream, info) => {
      file = stream;
      stream.on("limit", () => stream.destroy(fileTooLarge(maxFileBytes)));
      consume({ stream, name: info.filename ?? "file", type: info.mimeType }).then(resolve, (err: unknown) => {
        stream.resume();
        ctx.req.unpipe(parser);
        ctx.req.resume();
        reject(err);
      });
    });
    parser.on("fieldsLimit", () => fail(badRequest("bad_multipart", "Send the file alone.")));
    parser.on("partsLimit", () => fail(badRequest("bad_multipart", "Send one file at a time.")));
    parser.on("filesLimit", () => fail(badRequest("bad_multipart", "Send one file at a time.")));
    // A request cut off midway (the browser's cancel) ends the file stream with an error too, so
    // `consume` stops and removes what it stored.
    parser.on("error", () => {
      const err = badRequest("bad_multipart", "That upload could not be read.");
      if (file) file.destroy(err);
      else fail(err);
    });
    ctx.req.once("close", () => {
      if (!ctx.req.complete) file?.destroy(badRequest("upload_cut_off", "The upload was cut off."));
    });
    parser.on("close", () => {
      if (!file) fail(badRequest("no_file", "Choose a file to send."));
    });
    ctx.req.pipe(parser);
  });
}
