import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.internal.*;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import java.nio.ByteBuffer;
import java.nio.file.*;

// Gen writes one RecordBatch v2 per codec, built by the Kafka Java client's
// MemoryRecordsBuilder, to <dir>/java-<codec>.bin. Used to produce the
// golden files of wire/record_test.go (TestDecodeJavaBatches):
//
//   CP="kafka-4.4.0/libs/*"; javac -cp "$CP" Gen.java && java -cp "$CP:." Gen <dir>
public class Gen {
    public static void main(String[] args) throws Exception {
        Compression[] cs = {Compression.NONE, Compression.gzip().build(), Compression.snappy().build(), Compression.lz4().build(), Compression.zstd().build()};
        String[] names = {"none", "gzip", "snappy", "lz4", "zstd"};
        for (int c = 0; c < cs.length; c++) {
            ByteBuffer buf = ByteBuffer.allocate(4 << 20);
            MemoryRecordsBuilder b = MemoryRecords.builder(buf, RecordBatch.CURRENT_MAGIC_VALUE, cs[c], TimestampType.CREATE_TIME, 1000L);
            int count = c == 0 ? 50 : 500;
            for (int i = 0; i < count; i++) {
                byte[] key = (i % 5 == 0) ? null : ("key-" + i).getBytes();
                byte[] value = (i % 7 == 0) ? null : ("value-" + i + "-" + "x".repeat(i % 300)).getBytes();
                Header[] hs = (i % 3 == 0) ? new Header[]{new RecordHeader("h1", ("hv" + i).getBytes()), new RecordHeader("hnull", (byte[]) null)} : new Header[0];
                b.append(1_700_000_000_000L + (i * 37L) % 1000, key, value, hs);
            }
            MemoryRecords recs = b.build();
            ByteBuffer out = recs.buffer();
            byte[] bytes = new byte[out.remaining()];
            out.get(bytes);
            Files.write(Paths.get(args[0], "java-" + names[c] + ".bin"), bytes);
        }
    }
}
