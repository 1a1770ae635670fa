final class Pinning {
    private static final String HOST = "api.example.com";
    private static final String PIN = "sha256/ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
    static final String[] BACKUPS = {"sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="};
    static CertificatePinner pinner() {
        return new CertificatePinner.Builder()
            .add(HOST, PIN)
            .add(HOST, BACKUPS)
            .add("*.example.com", new String[] {PIN})
            .build();
    }
}
