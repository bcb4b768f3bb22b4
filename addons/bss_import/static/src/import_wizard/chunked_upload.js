/** @odoo-module **/

/**
 * Chunked upload of export files to an import run.
 *
 * A Digital BSS export is often larger than the web server's request limit
 * (128 MB by default), so each file is read in slices with Blob.slice and
 * sent as base64 through bss.import.run.upload_chunk. The server appends a
 * chunk only at the offset it has already received, so an interrupted upload
 * resumes where it stopped.
 */

export const CHUNK_SIZE = 8 * 1024 * 1024; // 8 MiB of file data: ~11 MB of base64 per request

/** Upload settings; tests lower the chunk size to send small files in several chunks. */
export const uploadSettings = { chunkSize: CHUNK_SIZE };

/**
 * Read a slice of a file as base64 (without the data: URL prefix).
 *
 * @param {Blob} blob
 * @returns {Promise<string>}
 */
export function readAsBase64(blob) {
    return new Promise((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => {
            const url = reader.result;
            resolve(url.slice(url.indexOf(",") + 1));
        };
        reader.onerror = () => reject(reader.error);
        reader.readAsDataURL(blob);
    });
}

/**
 * Send one file to the run in slices of `chunkSize` bytes, starting at `offset`.
 *
 * @param {Object} orm the orm service
 * @param {number} runId
 * @param {File} file
 * @param {Object} [options]
 * @param {number} [options.offset=0] bytes the server already holds
 * @param {number} [options.chunkSize=uploadSettings.chunkSize]
 * @param {(sent: number) => void} [options.onProgress] called after each chunk with the bytes received
 * @returns {Promise<number>} the size the server holds at the end
 */
export async function uploadInChunks(orm, runId, file, options = {}) {
    const chunkSize = options.chunkSize || uploadSettings.chunkSize;
    let offset = options.offset || 0;
    const name = file.name;
    // An empty file is still sent once: detection reports it instead of ignoring it.
    do {
        const data = await readAsBase64(file.slice(offset, offset + chunkSize));
        offset = await orm.call("bss.import.run", "upload_chunk", [[runId], name, offset, data]);
        options.onProgress?.(offset);
    } while (offset < file.size);
    return offset;
}
