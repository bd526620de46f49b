/*
 * The lakehouse's Iceberg FileIO: HadoopFileIO (S3A), except that a small file whose length Iceberg already
 * knows (from a manifest, for data, delete and manifest files) is read whole in one GET, with no HEAD.
 *
 * Through S3A 3.3.1, opening a file costs a HEAD, and Parquet then reads the footer, the column chunks and
 * seeks backwards: 1 HEAD + 3 GET per small file, about 4-5 ms each on SeaweedFS. A file of at most
 * `whole-file.max-bytes` (catalog property; LAKEHOUSE_WHOLE_FILE_MAX_BYTES, 0 = off) is fetched in one
 * ranged GET into memory, and Parquet reads it from there. Larger files and files of unknown length go
 * through HadoopFileIO unchanged.
 *
 * Inside a Spark task, the next files of the task are fetched ahead on a JVM-wide pool (`Prefetcher`),
 * within a memory bound shared by every task of the JVM and always given back: when a file is opened, or
 * when its task ends in any way (success, failure, kill, cancelled query).
 */
package lakehouse.iceberg;

import java.util.Map;
import org.apache.iceberg.hadoop.HadoopFileIO;
import org.apache.iceberg.io.InputFile;

public class WholeFileIO extends HadoopFileIO {
  private static final long serialVersionUID = 1L;
  public static final String MAX_BYTES = "whole-file.max-bytes";
  public static final String PREFETCH_THREADS = "whole-file.prefetch-threads";
  public static final String PREFETCH_MAX_BYTES = "whole-file.prefetch-max-bytes";
  static final long DEFAULT_MAX_BYTES = 8L * 1024 * 1024;
  static final int DEFAULT_PREFETCH_THREADS = 8;
  static final long DEFAULT_PREFETCH_MAX_BYTES = 64L * 1024 * 1024;
  static final long LARGEST_MAX_BYTES = 1L << 30;

  // Serialized with the table to the executors (primitives only: the pool and the budget are per JVM).
  private long maxBytes = DEFAULT_MAX_BYTES;
  private int prefetchThreads = DEFAULT_PREFETCH_THREADS;
  private long prefetchMaxBytes = DEFAULT_PREFETCH_MAX_BYTES;

  public WholeFileIO() {
    super();
  }

  @Override
  public void initialize(Map<String, String> properties) {
    super.initialize(properties);
    this.maxBytes = longProperty(properties, MAX_BYTES, DEFAULT_MAX_BYTES);
    if (maxBytes > LARGEST_MAX_BYTES) { // read into one array, with one byte more than the file
      throw new IllegalArgumentException(
          "propriété de catalogue " + MAX_BYTES + "=" + maxBytes + " : au plus " + LARGEST_MAX_BYTES
              + " octets (LAKEHOUSE_WHOLE_FILE_MAX_BYTES)");
    }
    this.prefetchThreads = (int) longProperty(properties, PREFETCH_THREADS, DEFAULT_PREFETCH_THREADS);
    this.prefetchMaxBytes = longProperty(properties, PREFETCH_MAX_BYTES, DEFAULT_PREFETCH_MAX_BYTES);
  }

  private static long longProperty(Map<String, String> properties, String key, long fallback) {
    String value = properties.get(key);
    if (value == null || value.trim().isEmpty()) {
      return fallback;
    }
    try {
      long parsed = Long.parseLong(value.trim());
      if (parsed < 0) {
        throw new NumberFormatException("négatif");
      }
      return parsed;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "propriété de catalogue " + key + "=" + value + " : un entier ≥ 0 est attendu", e);
    }
  }

  @Override
  public InputFile newInputFile(String path, long length) {
    if (maxBytes <= 0 || length <= 0 || length > maxBytes) {
      return super.newInputFile(path, length);
    }
    WholeFile file = new WholeFile(path, length, conf());
    Prefetcher.offer(file, prefetchThreads, prefetchMaxBytes);
    return file;
  }
}
