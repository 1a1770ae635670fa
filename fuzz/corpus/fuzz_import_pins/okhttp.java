CertificatePinner certificatePinner = new CertificatePinner.Builder()
        .add("*.example.com", "sha256/ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=", "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        .build();
String s = """raw""";
