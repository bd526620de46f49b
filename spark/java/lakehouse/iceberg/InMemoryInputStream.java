/*
 * A file already in memory, as Iceberg's readers want it: seekable, with positioned and tail reads.
 */
package lakehouse.iceberg;

import java.io.EOFException;
import java.io.IOException;
import org.apache.iceberg.io.RangeReadable;
import org.apache.iceberg.io.SeekableInputStream;

final class InMemoryInputStream extends SeekableInputStream implements RangeReadable {
  private byte[] data;
  private final int length;
  private int pos = 0;

  InMemoryInputStream(byte[] data, int length) {
    this.data = data;
    this.length = length;
  }

  private byte[] open() throws IOException {
    if (data == null) {
      throw new IOException("flux déjà fermé");
    }
    return data;
  }

  @Override
  public long getPos() {
    return pos;
  }

  @Override
  public void seek(long newPos) throws IOException {
    if (newPos < 0 || newPos > length) {
      throw new EOFException("position " + newPos + " hors du fichier (" + length + " octets)");
    }
    open();
    pos = (int) newPos;
  }

  @Override
  public int read() throws IOException {
    byte[] bytes = open();
    return pos < length ? bytes[pos++] & 0xff : -1;
  }

  @Override
  public int read(byte[] buffer, int offset, int count) throws IOException {
    byte[] bytes = open();
    if (count == 0) {
      return 0;
    }
    if (pos >= length) {
      return -1;
    }
    int n = Math.min(count, length - pos);
    System.arraycopy(bytes, pos, buffer, offset, n);
    pos += n;
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    open();
    long skipped = Math.max(0, Math.min(n, length - pos));
    pos += (int) skipped;
    return skipped;
  }

  @Override
  public int available() throws IOException {
    open();
    return length - pos;
  }

  @Override
  public void readFully(long position, byte[] buffer, int offset, int count) throws IOException {
    byte[] bytes = open();
    if (position < 0 || position + count > length) {
      throw new EOFException(
          "lecture de " + count + " octets à " + position + " hors du fichier (" + length + " octets)");
    }
    System.arraycopy(bytes, (int) position, buffer, offset, count);
  }

  @Override
  public int readTail(byte[] buffer, int offset, int count) throws IOException {
    byte[] bytes = open();
    int n = Math.min(count, length);
    System.arraycopy(bytes, length - n, buffer, offset, n);
    return n;
  }

  @Override
  public void close() {
    data = null;
  }
}
