/*
 * One small file of known length, read whole: one ranged GET with no HEAD (S3A), or the bytes the
 * prefetcher already fetched. The length comes from Iceberg's metadata; it is checked against the object:
 * a file shorter or longer than its manifest says fails loudly, naming the file and both lengths, and never
 * returns short data.
 */
package lakehouse.iceberg;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.ExecutionException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.s3a.S3AFileStatus;
import org.apache.hadoop.fs.s3a.S3AFileSystem;
import org.apache.iceberg.hadoop.HadoopInputFile;
import org.apache.iceberg.hadoop.Util;
import org.apache.iceberg.io.InputFile;
import org.apache.iceberg.io.SeekableInputStream;

final class WholeFile implements InputFile {
  private static final String FADVISE = "fs.s3a.experimental.input.fadvise";

  private final String location;
  private final long length;
  private final Configuration conf;

  WholeFile(String location, long length, Configuration conf) {
    this.location = location;
    this.length = length;
    this.conf = conf;
  }

  @Override
  public long getLength() {
    return length;
  }

  @Override
  public String location() {
    return location;
  }

  @Override
  public boolean exists() {
    return HadoopInputFile.fromLocation(location, conf).exists();
  }

  @Override
  public SeekableInputStream newStream() {
    try {
      byte[] prefetched = Prefetcher.take(this);
      return new InMemoryInputStream(prefetched != null ? prefetched : read(), (int) length);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The file's bytes (an array of at least `length` bytes). One GET of bytes 0..length (one byte more
   * than the file should have): fewer than `length` bytes or more than `length` is an error.
   */
  byte[] read() throws IOException {
    Path path = new Path(location);
    FileSystem fs = Util.getFs(path, conf);
    byte[] buffer = new byte[(int) length + 1];
    int total = 0;
    try (InputStream in = open(fs, path)) {
      while (total < buffer.length) {
        int read = in.read(buffer, total, buffer.length - total);
        if (read < 0) {
          break;
        }
        total += read;
      }
    }
    if (total != length) {
      String actual = total > length ? "plus de " + length : String.valueOf(total);
      throw new EOFException(
          "longueur inattendue pour "
              + location
              + " : les métadonnées Iceberg annoncent "
              + length
              + " octets, l'objet en a "
              + actual
              + " (fichier remplacé ou tronqué hors d'Iceberg ?). Rien n'est lu de ce fichier ; "
              + "pour le lire sans cette vérification : LAKEHOUSE_WHOLE_FILE_MAX_BYTES=0.");
    }
    return buffer;
  }

  private InputStream open(FileSystem fs, Path path) throws IOException {
    if (!(fs instanceof S3AFileSystem)) {
      return fs.open(path);
    }
    Path qualified = fs.makeQualified(path);
    // A status of length + 1 bytes: S3A then skips its HEAD and asks for bytes 0..length in one GET,
    // so that a longer object shows its extra byte. Sequential: one request for the whole range.
    S3AFileStatus status =
        new S3AFileStatus(length + 1, 0L, qualified, fs.getDefaultBlockSize(qualified), "", null, null);
    try {
      return fs.openFile(qualified).withFileStatus(status).opt(FADVISE, "sequential").build().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("lecture interrompue : " + location);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException) {
        throw (IOException) cause;
      }
      throw new IOException("ouverture de " + location + " : " + cause, cause);
    }
  }
}
